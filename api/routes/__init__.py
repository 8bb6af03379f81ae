"""The HTTP API's routers, one per resource; `api.app` includes them all."""
