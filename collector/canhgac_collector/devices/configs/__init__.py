"""Device configurations over SSH: pulls, history, diff, approval."""
