"""The outer layer: the FastAPI application and the `portalflow` command line."""
