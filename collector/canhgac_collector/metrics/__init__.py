"""Numbers out of the server: the Prometheus registry and exposition (`exposition.py`), the InfluxDB
history writer (`history.py`), and the families each domain declares (`telemetry.py`)."""
