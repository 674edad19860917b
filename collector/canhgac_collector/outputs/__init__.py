"""Where collected data goes: the Prometheus exposition (`/metrics`) and the InfluxDB history writer."""
