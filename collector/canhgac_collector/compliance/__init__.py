"""Server-side compliance (issue 4): engine targets from the store, stored scans, schedules, drift."""
