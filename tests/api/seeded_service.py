"""The real app over the seeded practice in a SQLite file, with a token per role: what the schema-driven tests
drive. Built when a test module is imported, since schemathesis makes its tests while pytest collects."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from practice import START, seed_practice

ROOT = Path(__file__).resolve().parents[2]
ROLES = {"admin": "root", "integration": "ehr", "staff": "ana", "auditor": "audrey"}


@dataclass
class SeededService:
    tokens: dict[str, str]  # role -> bearer token of that role's user
    app: Any
    folder: tempfile.TemporaryDirectory[str]  # holds the database; removed when this object goes

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def seeded_service(prefix: str) -> SeededService:
    """The seeded practice over a new SQLite file, a token for each role's user, and the app over them."""
    from fakes import FakeClock

    from api.app import create_app
    from api.cli.users import CLI_ACTOR
    from api.settings import Settings
    from engine.bootstrap import build
    from engine.credentials.hashing import TEST_COST
    from engine.people import identity

    folder = tempfile.TemporaryDirectory(prefix=prefix)
    url = f"sqlite:///{Path(folder.name) / 'portalflow.db'}"
    flow = build(url, ROOT / "workflows", clock=FakeClock(datetime.fromisoformat(START)), hash_cost=TEST_COST,
                 secret_key=b"q" * 43 + b"=")
    seed_practice(flow.db)
    now = flow.services.clock.now()
    tokens: dict[str, str] = {}
    with flow.db.begin() as conn:
        for role, user in ROLES.items():
            if role != "staff":  # the staff users are seeded
                identity.create_user(conn, now, CLI_ACTOR, user, user.title(), role)
            tokens[role] = identity.issue_token(conn, now, CLI_ACTOR, user, "schema test").value
    app = create_app(Settings(database_url=url, workflows_dir=ROOT / "workflows"), flow=flow)
    return SeededService(tokens, app, folder)
