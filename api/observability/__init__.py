"""What an operator sees of the running service: JSON log lines with a request id (`logs`), one access line and
the request metrics per answer (`requests`), and `/metrics` for Prometheus (`metrics`)."""
