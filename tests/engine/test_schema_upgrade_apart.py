"""Migrations can run on their own: `portalflow db upgrade` says from which schema revision to which, and a process
told not to migrate (PORTALFLOW_MIGRATE=0) refuses an older schema, naming the command, and leaves it as it was."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.cli import main
from engine.storage.database import make_engine
from engine.storage.migrations import upgrade


@pytest.fixture
def older(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite database at revision 0005, as an older PortalFlow left it."""
    monkeypatch.setenv("PORTALFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("PORTALFLOW_WORKFLOWS", str(Path(__file__).resolve().parents[2] / "workflows"))
    url = f"sqlite:///{tmp_path / 'var' / 'portalflow.db'}"
    db = make_engine(url)
    upgrade(db, "0005")
    db.dispose()
    return url


def test_db_upgrade_says_from_which_revision_to_which(older: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade", "--database-url", older]) == 0
    assert re.fullmatch(r"schema upgraded from 0005 to \d{4}\n", capsys.readouterr().out)


def test_a_process_told_not_to_migrate_refuses_an_older_schema_until_it_is_upgraded(
        older: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PORTALFLOW_MIGRATE", "0")
    with pytest.raises(SystemExit) as stop:
        main(["worker", "--once", "--database-url", older])
    assert "the database is at schema revision 0005" in str(stop.value)
    assert "run `portalflow db upgrade`" in str(stop.value)
    assert main(["db", "upgrade", "--database-url", older]) == 0
    assert capsys.readouterr().out.startswith("schema upgraded from 0005 to ")  # untouched until then
    assert main(["worker", "--once", "--database-url", older]) == 0
    assert capsys.readouterr().out.startswith("timers: ")
