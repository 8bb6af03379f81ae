"""Pydantic request and response bodies of the HTTP API, apart from the engine's records and the tables."""
