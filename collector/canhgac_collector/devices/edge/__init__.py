"""Edge polling, the server side: switches polled by an agent of their site (docs/edge-polling-server.md)."""
