"""The data centre's side of a site's line: probes of each site's declared gateway/public address."""
