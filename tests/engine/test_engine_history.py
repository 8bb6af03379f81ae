"""The history an auditor trusts: `portalflow audit verify` passes on real use and names an edited row."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text

from api.cli import main
from definitions.model import Actor
from engine.actors import ActorRef
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment
from engine.storage.migrations import upgrade
from engine.storage.tables import audit_events, metadata

ANA = ActorRef("ana", "staff", Actor.STAFF)


def some_history(flow: Any) -> None:
    started = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id="p-jane"))
    flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_pin", ANA))
    flow.start(StartEnrollment("nextgen-pxp-portal-invites", ANA, patient_id="p-jane"))


def test_audit_verify_passes_on_real_use_and_names_the_first_edited_row(
    flow: Any, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    some_history(flow)
    assert main(["audit", "anchor", "--database-url", database_url]) == 0
    assert main(["audit", "verify", "--database-url", database_url]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "ok: 3 audit event(s) in 2 chain(s) and 1 anchor(s) verified"
    with flow.db.connect() as conn:
        target = conn.execute(select(audit_events.c.id, audit_events.c.chain, audit_events.c.seq)
                              .where(audit_events.c.action == "transition")).one()
    with flow.db.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        conn.execute(text("UPDATE audit_events SET actor_id = 'mallory' WHERE id = :id"), {"id": target.id})
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
    assert main(["audit", "verify", "--database-url", database_url]) == 1
    assert capsys.readouterr().out.strip() == (
        f"ALTERED: audit event {target.id} (chain {target.chain}, seq {target.seq}) was altered: its content no "
        "longer matches its hash")


def test_on_postgresql_the_application_cannot_rewrite_its_history(flow: Any) -> None:
    some_history(flow)
    if flow.db.dialect.name != "postgresql":
        pytest.skip("SQLite has no roles: there the file is the trust boundary and verify is the control")
    for statement in ("UPDATE audit_events SET reason = 'x'", "DELETE FROM audit_events", "TRUNCATE audit_events"):
        with pytest.raises(Exception, match="append-only"), flow.db.begin() as conn:
            conn.execute(text(statement))


def _newest_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from engine.storage.migrations import SCRIPTS

    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


HEAD = _newest_revision()


def test_a_migrated_database_matches_the_table_definitions_and_upgrading_again_changes_nothing(flow: Any) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    upgrade(flow.db)
    with flow.db.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert differences == []
    assert revision == HEAD


def test_a_database_at_the_first_revision_with_rows_upgrades_in_place(database_url: str) -> None:
    from engine.storage.database import make_engine

    db = make_engine(database_url)
    try:
        upgrade(db, "0001")
        with db.begin() as conn:
            conn.execute(text("INSERT INTO sites (id, name, timezone, portal_url, specialist_office) "
                              "VALUES ('s1', 'Old Site', 'UTC', 'https://portal.example.test', false)"))
        upgrade(db)
        with db.connect() as conn:
            site = conn.execute(text("SELECT name, country, recipient_daily_cap FROM sites")).one()
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        assert tuple(site) == ("Old Site", None, None)
        assert revision == HEAD
    finally:
        db.dispose()
