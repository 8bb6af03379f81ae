"""Shared fixtures: the repository's own folders, throwaway workflow files, and the PostgreSQL URL."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ENV = "PORTALFLOW_TEST_DATABASE_URL"


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def workflows_dir() -> Path:
    return ROOT / "workflows"


@pytest.fixture
def write_workflow(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a workflow file in a folder with a handout and a template, as a designer's room would have."""
    (tmp_path / "templates").mkdir(exist_ok=True)
    (tmp_path / "templates" / "hello.j2").write_text("{% block body %}Hello{% endblock %}\n", encoding="utf-8")
    (tmp_path / "handout.txt").write_text("A handout.\n", encoding="utf-8")

    def write(text: str, name: str = "wf.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def postgres_url() -> str:
    """The PostgreSQL URL from the environment; skipped visibly when unset, a failure when set but unreachable."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL tests need a server (CI sets it)")
    return url


# ----- the engine on a real SQLite file, with a fake clock ---------------------------------------------------

START = "2026-03-02T14:00:00+00:00"


@pytest.fixture
def clock() -> object:
    from datetime import datetime

    from engine.clock import FakeClock

    return FakeClock(datetime.fromisoformat(START))


def seed_practice(db: object) -> None:
    """One site, staff users, providers, and patients covering each procedure's cases."""
    from datetime import date

    from sqlalchemy import insert

    from engine.storage.tables import household_members, households, patients, providers, sites, staff_users

    assert hasattr(db, "begin")
    with db.begin() as conn:
        conn.execute(insert(sites).values(id="main", name="Maple Family Practice", timezone="America/New_York",
                                          portal_url="https://portal.example.test", phone="555-0100",
                                          specialist_office=False, go_live_on=date(2026, 1, 5)))
        conn.execute(insert(staff_users), [
            {"id": "ana", "name": "Ana Front Desk", "role": "staff", "linked_to_staff_record": True, "active": True},
            {"id": "bob", "name": "Bob New Hire", "role": "staff", "linked_to_staff_record": False, "active": True},
        ])
        conn.execute(insert(providers), [{"id": "dr-pcp", "name": "Dr. Pat Primary"},
                                         {"id": "dr-other", "name": "Dr. Oz Other"}])
        base = {"site_id": "main", "birth_sex": "F", "zip": "02139", "email_confirmed_personal": True,
                "cell_phone": None, "pcp_id": "dr-pcp", "responsible_provider_id": "dr-pcp",
                "portal_access_enabled": False, "portal_account_id": None, "name_is_placeholder": False}
        conn.execute(insert(patients), [
            {**base, "id": "p-jane", "given_name": "Jane", "family_name": "Doe", "birth_date": date(1980, 4, 1),
             "email": "jane@example.test"},
            {**base, "id": "p-noemail", "given_name": "Nora", "family_name": "Mail", "birth_date": date(1975, 1, 2),
             "email": None},
            {**base, "id": "c-ava", "given_name": "Ava", "family_name": "Lee", "birth_date": date(2018, 6, 1),
             "email": None},
            {**base, "id": "c-ben", "given_name": "Baby Girl", "family_name": "Lee", "birth_date": date(2021, 9, 9),
             "email": None, "name_is_placeholder": True},
            {**base, "id": "c-cal", "given_name": "Cal", "family_name": "Lee", "birth_date": date(2016, 2, 2),
             "email": None},
        ])
        conn.execute(insert(households).values(id="h-lee", site_id="main", guardian_given_name="Kim",
                                               guardian_family_name="Lee", guardian_email="kim@example.test",
                                               guardian_email_confirmed_personal=True, portal_account_id=None))
        conn.execute(insert(household_members), [
            {"household_id": "h-lee", "patient_id": "c-ava", "position": 1},
            {"household_id": "h-lee", "patient_id": "c-ben", "position": 2},
            {"household_id": "h-lee", "patient_id": "c-cal", "position": 3},
        ])


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose connections use a fresh schema, dropped afterwards: tests never share tables."""
    import uuid

    from sqlalchemy import create_engine, text

    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL tests need a server (CI sets it)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Engine tests run on a real SQLite file and, where configured, on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'portalflow.db'}"
    return str(request.getfixturevalue("postgres_schema_url"))


@pytest.fixture
def flow(database_url: str, clock: object, workflows_dir: Path, tmp_path: Path) -> Iterator[object]:
    from engine.bootstrap import build
    from engine.credentials import TEST_COST

    built = build(database_url, workflows_dir, clock=clock,  # type: ignore[arg-type]
                  hash_cost=TEST_COST, secret_key=b"q" * 43 + b"=")
    seed_practice(built.db)
    yield built
    built.db.dispose()


@pytest.fixture
def start_server() -> Iterator[Callable[..., object]]:
    """Start real SMTP servers on loopback (tests/loopback_smtp.py); all are stopped after the test."""
    from aiosmtpd.controller import Controller
    from loopback_smtp import HOST, Mailbox, Server, free_port

    controllers: list[Controller] = []

    def start(mailbox: Mailbox | None = None, port: int | None = None, **options: object) -> Server:
        server = Server(mailbox or Mailbox(), port or free_port())
        controller = Controller(server.mailbox, hostname=HOST, port=server.port, **options)
        controller.start()
        controllers.append(controller)
        return server

    yield start
    for controller in controllers:
        controller.stop()


# ----- the HTTP API over the same engine, with a token per role ----------------------------------------------

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
def api(flow: object, workflows_dir: Path) -> Iterator[Api]:
    """The app over `flow` (fake clock; no background job) with users: ana and bob (staff, seeded), root
    (admin), audrey (auditor), dee (designer) and ehr (the integration)."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.cli_users import CLI_ACTOR
    from api.settings import Settings
    from engine import identity

    db = flow.db  # type: ignore[attr-defined]
    now = flow.services.clock.now()  # type: ignore[attr-defined]
    tokens: dict[str, str] = {}
    with db.begin() as conn:
        for user, role in API_USERS.items():
            if role != "staff":
                identity.create_user(conn, now, CLI_ACTOR, user, user.title(), role)
            tokens[user] = identity.issue_token(conn, now, CLI_ACTOR, user, "test").value
    app = create_app(Settings(database_url=str(db.url), workflows_dir=workflows_dir), flow=flow)  # type: ignore[arg-type]
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, tokens)
