"""A SQLite database backed up while in use, with its key files, and restored into a fresh folder, works there:
the enrollment goes on with the PIN it was given, the history verifies, and the queued message (its PIN sealed
with the outbox key) is delivered."""

from __future__ import annotations

import stat
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeClock
from practice import seed_practice

from api.cli import main
from definitions.model import Actor
from engine.actors import ActorRef
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.portal import PresentPin
from engine.enrollments.start import StartEnrollment
from engine.front_door.flow import PortalFlow

ANA = ActorRef("ana", "staff", Actor.STAFF)
SIBLING_STEPS: dict[str, Any] = {
    "select_children": ["c-ava", "c-cal"], "open_first_child": "patient_administration",
    "first_child_send_pin": True, "complete_first_child": True, "begin_next_sibling": True,
    "sibling_do_not_send_pin": True, "print_sibling_pins": True, "complete_siblings": True,
}


def flow_in(home: Path, clock: FakeClock, workflows_dir: Path) -> PortalFlow:
    """The engine as the service builds it in `home`: its database, key files and mail folder there."""
    return build(f"sqlite:///{home / 'var' / 'portalflow.db'}", workflows_dir, clock=clock, hash_cost=TEST_COST,
                 key_file=home / "var" / "outbox.key", mail_folder=home / "var" / "mail")


def emailed_text(folder: Path) -> str:
    (eml,) = folder.glob("*.eml")
    mail = message_from_bytes(eml.read_bytes(), policy=policy.default)
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


@pytest.fixture
def backed_up(tmp_path: Path, clock: FakeClock, workflows_dir: Path,
              monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, str]:
    """A practice mid-flight in home A: the siblings' PINs issued, the welcome email (first PIN) still queued;
    backed up with `portalflow backup` while its engine is open. Answers the backup and the two PINs."""
    home = tmp_path / "a"
    flow = flow_in(home, clock, workflows_dir)
    try:
        seed_practice(flow.db)
        started = flow.start(StartEnrollment("intellichart-pins-for-siblings", ANA, household_id="h-lee"))
        ava, cal = flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_sibling_pins", ANA,
                                                  inputs=SIBLING_STEPS)).shown
        flow.histories.anchor()
        monkeypatch.setenv("PORTALFLOW_HOME", str(home))
        monkeypatch.delenv("PORTALFLOW_DATABASE_URL", raising=False)
        assert main(["backup", str(tmp_path / "backup")]) == 0
    finally:
        flow.close()
    return tmp_path / "backup", str(ava.value), str(cal.value)


def test_a_backup_is_a_new_private_folder_with_the_database_and_its_key_files(
        backed_up: tuple[Path, str, str]) -> None:
    folder = backed_up[0]
    names = {p.name for p in folder.iterdir()}
    assert {"portalflow.db", "outbox.key", "pin-lookup.key", "audit-anchor.key", "portalflow.db-anchors.jsonl"} <= names
    assert not any(name.endswith(("-wal", "-shm")) for name in names)  # one standalone file
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}


def test_a_backup_never_overwrites_and_a_restore_never_replaces(
        backed_up: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    folder = backed_up[0]
    assert main(["backup", str(folder)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["restore", str(folder)]) == 2  # home A still has its database
    assert "a restore goes into a fresh place only" in capsys.readouterr().err


def test_a_restored_backup_goes_on_where_it_stopped(backed_up: tuple[Path, str, str], tmp_path: Path,
                                                    clock: FakeClock, workflows_dir: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    folder, ava_pin, cal_pin = backed_up
    fresh = tmp_path / "b"
    monkeypatch.setenv("PORTALFLOW_HOME", str(fresh))
    assert main(["restore", str(folder)]) == 0
    assert stat.S_IMODE((fresh / "var" / "outbox.key").stat().st_mode) == 0o600
    assert (fresh / "var" / "portalflow.db-anchors.jsonl").is_file()  # the anchor log beside the database
    flow = flow_in(fresh, clock, workflows_dir)
    try:
        assert flow.histories.verify().ok
        assert flow.delivery.deliver().counts["sent"] == 1  # the sealed PIN opened with the restored outbox key
        assert ava_pin in emailed_text(fresh / "var" / "mail" / "email")
        first = flow.present_pin(PresentPin(ava_pin, date(2018, 6, 1)))  # found by the restored lookup key
        assert first.to_state == "partially_registered"
        assert flow.present_pin(PresentPin(cal_pin, date(2016, 2, 2))).to_state == "registered"
        assert flow.histories.verify().ok
    finally:
        flow.close()


def test_on_postgresql_backup_points_to_pg_dump_and_lists_the_key_files(
        postgres_schema_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "outbox.key").write_text("k", encoding="utf-8")
    monkeypatch.setenv("PORTALFLOW_HOME", str(tmp_path))
    assert main(["backup", str(tmp_path / "backup"), "--database-url", postgres_schema_url]) == 2
    err = capsys.readouterr().err
    assert "back it up with pg_dump" in err
    assert str(tmp_path / "var" / "outbox.key") in err
    assert not (tmp_path / "backup").exists()
