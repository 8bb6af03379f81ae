"""The newest schema revision, known without Alembic, so a service starting on a current database never loads it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from engine.storage.migrations import HEAD, SCRIPTS, upgrade

ROOT = Path(__file__).resolve().parents[2]


def test_the_head_the_engine_names_is_the_newest_revision_alembic_finds() -> None:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))

    assert ScriptDirectory.from_config(config).get_current_head() == HEAD


def test_upgrading_a_database_already_at_head_changes_nothing_and_reads_the_revision_alembic_reads(
        database_url: str) -> None:
    db = create_engine(database_url)
    try:
        assert upgrade(db)[1] == HEAD
        assert upgrade(db) == (HEAD, HEAD)
        with db.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == HEAD
    finally:
        db.dispose()


def test_a_service_starting_on_a_database_already_at_head_never_imports_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'portalflow.db'}"
    db = create_engine(url)
    upgrade(db)
    db.dispose()
    probe = ("import sys; from engine.bootstrap import build; from engine.credentials.hashing import TEST_COST; "
             f"build({url!r}, None, hash_cost=TEST_COST, secret_key=b'q' * 43 + b'='); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako', 'pygments')))")
    started = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env={"PYTHONPATH": str(ROOT)},
                             capture_output=True, text=True, check=False)

    assert started.returncode == 0, started.stderr[-2000:]
    assert started.stdout.strip().splitlines()[-1] == "[]"
