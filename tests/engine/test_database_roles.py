"""On PostgreSQL the service can run as a role that cannot rewrite the history: `portalflow db roles` makes an
owner role (which migrates, `portalflow db upgrade`) and an application role that reads and writes the working
tables but may only read and append to audit_events and audit_anchors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import FakeClock
from practice import seed_practice
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from api.cli import main
from definitions.model import Actor
from engine.actors import ActorRef
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment

ANA = ActorRef("ana", "staff", Actor.STAFF)


def as_role(url: str, role: str) -> str:
    return make_url(url).set(username=role).render_as_string(hide_password=False)


@pytest.fixture
def roles(postgres_schema_url: str) -> Iterator[tuple[str, str]]:
    """Two role names of this test's own; the roles and what they own are dropped afterwards."""
    suffix = uuid.uuid4().hex[:8]
    owner, app = f"pf_owner_{suffix}", f"pf_app_{suffix}"
    yield owner, app
    admin = create_engine(postgres_schema_url)
    with admin.begin() as conn:
        for role in (app, owner):
            if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
                conn.execute(text(f'DROP OWNED BY "{role}" CASCADE'))
                conn.execute(text(f'DROP ROLE "{role}"'))
    admin.dispose()


def test_the_application_role_works_but_cannot_change_or_remove_history(
        postgres_schema_url: str, roles: tuple[str, str], workflows_dir: Path, clock: FakeClock, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    owner, app = roles
    monkeypatch.setenv("PORTALFLOW_HOME", str(tmp_path))  # the anchor key file goes there
    command = ["db", "roles", "--owner-role", owner, "--app-role", app, "--database-url", postgres_schema_url]
    assert main(command) == 0
    assert f"role {owner} created" in capsys.readouterr().out
    assert main(["db", "upgrade", "--database-url", as_role(postgres_schema_url, owner)]) == 0
    assert main(command) == 0  # after each upgrade: grants on the tables it made
    assert "may read and write them, but only read and append to audit_events" in capsys.readouterr().out

    # The service as the application role, told not to migrate: it starts, works and writes its history.
    flow = build(as_role(postgres_schema_url, app), workflows_dir, clock=clock, hash_cost=TEST_COST,
                 secret_key=b"q" * 43 + b"=", migrate=False)
    try:
        seed_practice(flow.db)
        started = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id="p-jane"))
        flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_pin", ANA))
        assert flow.histories.verify().ok
        for statement in ("UPDATE audit_events SET actor_id = 'someone else'", "DELETE FROM audit_events",
                          "TRUNCATE audit_events", "DELETE FROM audit_anchors",
                          "ALTER TABLE audit_events DISABLE TRIGGER USER", "DROP TABLE audit_events"):
            with pytest.raises(ProgrammingError) as refused, flow.db.begin() as conn:
                conn.execute(text(statement))
            assert "permission denied" in str(refused.value) or "must be owner" in str(refused.value), statement
        assert flow.histories.verify().ok
        # Anchoring locks the audit tables, which PostgreSQL 15 allows only with UPDATE, DELETE or TRUNCATE: the
        # application role takes those locks through the owner's function, and nothing more.
        assert flow.histories.anchor() is not None
        assert flow.histories.verify().ok
        with pytest.raises(ProgrammingError) as refused, flow.db.begin() as conn:
            conn.execute(text("LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE"))
        assert "permission denied" in str(refused.value)
    finally:
        flow.close()
    assert main(["audit", "anchor", "--database-url", as_role(postgres_schema_url, owner)]) == 0


def test_the_same_role_cannot_be_both_owner_and_application(postgres_schema_url: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "roles", "--owner-role", "same", "--app-role", "same",
                 "--database-url", postgres_schema_url]) == 2
    assert "must differ" in capsys.readouterr().err


def test_roles_are_refused_on_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "roles", "--database-url", f"sqlite:///{tmp_path / 'x.db'}"]) == 2
    assert "PostgreSQL" in capsys.readouterr().err
