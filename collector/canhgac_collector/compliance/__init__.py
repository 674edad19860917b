"""Server-side compliance: engine targets from the store, stored scans, schedules, drift."""
