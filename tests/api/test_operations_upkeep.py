"""The operations guide's settings, upgrade, backup, restore and roles steps run as written (the backup and restore
folders, and the PostgreSQL server, are this test's own), and do what the guide says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from practice import seed_practice
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from definitions.model import Actor
from engine.actors import ActorRef
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "operations.md"
ROLES = ("portalflow_app", "portalflow_owner")
ANA = ActorRef("ana", "staff", Actor.STAFF)  # the guide's names, dropped again after its test


def blocks(section: str) -> str:
    text_ = GUIDE.read_text(encoding="utf-8")
    part = text_[text_.index(f"## {section}\n"):]
    part = part[:part.index("\n## ", 1)]
    return "\n".join(re.findall(r"^```sh\n(.*?)^```", part, re.MULTILINE | re.DOTALL))


def run(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An installation's home: the shipped workflows, no database yet."""
    folder = tmp_path / "home"
    folder.mkdir()
    (folder / "workflows").symlink_to(ROOT / "workflows")
    return folder


def environment(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTALFLOW_")}
    return {**env, **values, "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}"}


def test_the_settings_upgrade_backup_and_restore_steps_run_as_written(home: Path, tmp_path: Path) -> None:
    env = environment(PORTALFLOW_HOME=str(home))
    upgraded = run(blocks("Upgrades"), env).stdout
    assert re.match(r"schema upgraded from \(empty database\) to \w+\n", upgraded)
    assert upgraded.splitlines()[1].startswith("timers: ")  # the worker started without migrating
    shown = run(blocks("Settings and the home folder"), env).stdout
    assert shown.startswith("portalflow ")
    assert "{staff,designer,auditor,admin,integration}" in shown
    _queue_a_welcome_email(home)
    restored = tmp_path / "restored"
    restored.mkdir()
    (restored / "workflows").symlink_to(ROOT / "workflows")
    script = (blocks("Backups and restores").replace("/var/backups/portalflow", str(tmp_path / "backups"))
              .replace("/srv/portalflow", str(restored)))
    out = run(script, env).stdout
    assert f"database restored to {restored / 'var' / 'portalflow.db'}" in out
    assert re.search(r"^ok: \d+ audit event\(s\)", out, re.MULTILINE)
    (mail,) = (restored / "var" / "mail" / "email").glob("*.eml")
    assert "[[sealed:" not in mail.read_text(encoding="utf-8")
    (backup,) = (tmp_path / "backups").iterdir()
    assert {"portalflow.db", "outbox.key", "pin-lookup.key"} <= {p.name for p in backup.iterdir()}


def _queue_a_welcome_email(home: Path) -> None:
    """A practice whose first sibling's PIN waits in the outbox, sealed with the home's outbox key."""
    flow = build(f"sqlite:///{home / 'var' / 'portalflow.db'}", home / "workflows", hash_cost=TEST_COST,
                 key_file=home / "var" / "outbox.key")
    try:
        seed_practice(flow.db)
        started = flow.start(StartEnrollment("intellichart-pins-for-siblings", ANA, household_id="h-lee"))
        steps = {"select_children": ["c-ava", "c-cal"], "open_first_child": "patient_administration",
                 "first_child_send_pin": True, "complete_first_child": True, "begin_next_sibling": True,
                 "sibling_do_not_send_pin": True, "print_sibling_pins": True, "complete_siblings": True}
        flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_sibling_pins", ANA, inputs=steps))
    finally:
        flow.close()


@pytest.fixture
def guide_roles(postgres_schema_url: str) -> Iterator[str]:
    yield postgres_schema_url
    admin = create_engine(postgres_schema_url)
    with admin.begin() as conn:
        for role in ROLES:
            if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
                conn.execute(text(f"DROP OWNED BY {role} CASCADE"))
                conn.execute(text(f"DROP ROLE {role}"))
    admin.dispose()


def test_the_database_roles_steps_run_as_written(guide_roles: str, home: Path) -> None:
    assert make_url(guide_roles).username == "postgres"  # the guide's superuser
    server = guide_roles.split("@", 1)[1]  # host, port, database and this test's schema
    script = blocks("Database roles (PostgreSQL)").replace("@db.internal/portalflow", f"@{server}")
    out = run(script, environment(PORTALFLOW_HOME=str(home))).stdout
    assert "role portalflow_owner created" in out
    assert "only read and append to audit_events and audit_anchors" in out
    assert out.rstrip().splitlines()[-1].startswith("ok: ")
