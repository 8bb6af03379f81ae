"""The HTTP API over the same engine as the engine tier (fake clock, no background job), with a token per role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.cli.users import CLI_ACTOR
from api.settings import Settings


class Api:
    """A TestClient on the app, and `as_(user)` headers carrying that user's bearer token."""

    def __init__(self, client: object, tokens: dict[str, str]) -> None:
        self.client = client
        self.tokens = tokens

    def as_(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}


API_USERS = {"ana": "staff", "bob": "staff", "root": "admin", "audrey": "auditor", "dee": "designer",
             "ehr": "integration"}


@pytest.fixture
def api(flow: Any, workflows_dir: Path) -> Iterator[Api]:
    """The app over `flow` (fake clock; no background job) with users: ana and bob (staff, seeded), root
    (admin), audrey (auditor), dee (designer) and ehr (the integration)."""
    tokens: dict[str, str] = {}
    for user, role in API_USERS.items():
        if role != "staff":
            flow.users.create(CLI_ACTOR, user, user.title(), role)
        tokens[user] = flow.users.issue_token(CLI_ACTOR, user, "test").value
    app = create_app(Settings(database_url=str(flow.db.url), workflows_dir=workflows_dir), flow=flow)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, tokens)
