"""Numbers out of the server: the Prometheus registry and exposition (`exposition.py`), the InfluxDB
history writer (`history.py`), the process-wide `Telemetry` that installs each domain's metric plugin
(`telemetry.py`; the domains declare their families beside their code: `hosts/metrics.py`,
`devices/metrics.py`, `compliance/metrics.py`), and the site tree's info family (`sites.py`)."""
