"""Vulnerability scanning (HS-26): an imported CVE feed (OSV JSON or the Debian security tracker JSON)
matched against the packages the agents report."""
