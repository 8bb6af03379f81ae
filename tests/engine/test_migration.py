"""Changing a workflow never breaks running enrollments: version 1 is published and a hundred enrollments run on it
(timers armed, messages queued); its file then becomes version 2 in place. After a restart every version-1
enrollment still reads, advances and fires its timers on version 1; a dry run says what would happen to each;
the migration moves them, timers re-armed by version 2's rules and each move in its history; and a migration
killed half-way and run again moves each enrollment exactly once. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeClock
from practice import seed_practice
from sqlalchemy import func, insert, select

from api.cli import main
from definitions.model import Actor
from engine.actors import ActorRef
from engine.audit.verify import verify
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.migration import MigrateWorkflow
from engine.enrollments.start import StartEnrollment
from engine.errors import InvalidInput
from engine.storage.tables import audit_events, enrollments, outbox, patients, timers

ROOT = Path(__file__).resolve().parents[2]
PXP = "nextgen-pxp-portal-invites"
ANA = ActorRef("ana", "staff", Actor.STAFF)
DEE = ActorRef("dee", "designer", Actor.STAFF)
EHR = ActorRef("ehr", "integration", Actor.INTEGRATION)
KEY = b"q" * 43 + b"="
ENROLL_NOW = {"confirm_required_fields": True, "enroll_now": "chart_banner"}
WAITING, INVITED, ACTIVATED = 40, 40, 20  # enrollments per version-1 state


def version_two(room: Path) -> None:
    """Version 2, written over version 1's file: 'not_invited' is renamed 'waiting', re-sends come every 5 days
    instead of 7, and the invitation says so."""
    path = room / f"{PXP}.yaml"
    text = path.read_text(encoding="utf-8")
    for old, new in (("version: 1", "version: 2"), ("not_invited", "waiting"), ("    after: 7d\n", "    after: 5d\n")):
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    template = room / "templates" / "pxp_portal_invitation.j2"
    template.write_text(template.read_text(encoding="utf-8").replace("{% block body %}",
                                                                     "{% block body %}Version two.\n"),
                        encoding="utf-8")


@pytest.fixture
def room(tmp_path: Path, workflows_dir: Path) -> Path:
    """A designers' folder of our own holding the invite workflow (as its version 1), its handout and templates."""
    copy = tmp_path / "workflows"
    shutil.copytree(workflows_dir / "handouts", copy / "handouts")
    shutil.copytree(workflows_dir / "templates", copy / "templates")
    shipped = (workflows_dir / f"{PXP}.yaml").read_text(encoding="utf-8")
    assert "\nversion: 2\n" in shipped
    (copy / f"{PXP}.yaml").write_text(shipped.replace("\nversion: 2\n", "\nversion: 1\n", 1), encoding="utf-8")
    return copy


def service(database_url: str, room: Path, clock: FakeClock) -> Any:
    return build(database_url, room, clock=clock, hash_cost=TEST_COST, secret_key=KEY, mail_folder=room / "mail",
                 skip_invalid_workflows=True)


def hundred_on_version_one(flow: Any) -> dict[str, list[str]]:
    """100 patients with complete records, an enrollment each: 40 not invited, 40 invited, 20 activated."""
    seed_practice(flow.db)
    with flow.db.begin() as conn:
        conn.execute(insert(patients), [{
            "id": f"m-{n:03}", "site_id": "main", "given_name": f"Pat{n}", "family_name": "Moved",
            "birth_date": date(1990, 1, 1) + timedelta(days=n), "birth_sex": "F", "zip": "02139",
            "email": f"pat{n}@example.test", "email_confirmed_personal": True, "cell_phone": None, "pcp_id": "dr-pcp",
            "responsible_provider_id": "dr-pcp", "portal_access_enabled": False, "portal_account_id": None,
            "name_is_placeholder": False} for n in range(WAITING + INVITED + ACTIVATED)])
    by_state: dict[str, list[str]] = {"not_invited": [], "invited": [], "activated": []}
    for n in range(WAITING + INVITED + ACTIVATED):
        eid = flow.start(StartEnrollment(PXP, ANA, patient_id=f"m-{n:03}")).enrollment_id
        if n >= WAITING:
            flow.advance(AdvanceEnrollment(eid, "enroll_now", ANA, inputs=ENROLL_NOW))
        if n >= WAITING + INVITED:
            flow.advance(AdvanceEnrollment(eid, "account_activated", EHR))
        by_state["not_invited" if n < WAITING else "invited" if n < WAITING + INVITED else "activated"].append(eid)
    return by_state


def versions(flow: Any) -> Counter[tuple[int, str]]:
    with flow.db.connect() as conn:
        return Counter((v, s) for v, s in conn.execute(select(enrollments.c.workflow_version, enrollments.c.state)))


def migrated_rows(flow: Any) -> Counter[str]:
    with flow.db.connect() as conn:
        return Counter(conn.execute(select(audit_events.c.enrollment_id).where(
            audit_events.c.action == "migrated")).scalars())


CHILD = textwrap.dedent("""\
    import sys, time
    from datetime import datetime
    from pathlib import Path
    from definitions.model import Actor
    from engine.actors import ActorRef
    from engine.bootstrap import build
    from engine.credentials.hashing import TEST_COST
    from engine.enrollments.migration import MigrateWorkflow
    from fakes import FakeClock
    url, room, now = sys.argv[1], Path(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
    flow = build(url, room, clock=FakeClock(now), hash_cost=TEST_COST, secret_key=b"q" * 43 + b"=",
                 mail_folder=room / "mail", skip_invalid_workflows=True)
    command = MigrateWorkflow("nextgen-pxp-portal-invites", 2, ActorRef("dee", "designer", Actor.STAFF),
                              {"not_invited": "waiting"}, "faster re-sends", limit=1)
    while flow.versions.migrate(command).outcomes:  # one at a time, paced, so that a kill lands mid-way
        time.sleep(0.02)
""")


def test_a_workflow_changed_in_place_keeps_its_enrollments_running_and_moves_each_once_even_after_a_kill(
        database_url: str, room: Path, clock: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = service(database_url, room, clock)
    by_state = hundred_on_version_one(flow)
    with flow.db.connect() as conn:
        queued = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
    assert queued == INVITED + ACTIVATED  # one invitation each, to those invited (the activated were, first)
    flow.close()

    version_two(room)
    clock.advance(timedelta(days=1))
    flow = service(database_url, room, clock)  # a restart on the changed folder
    assert flow.catalog.left_out == ()
    assert flow.catalog.latest(PXP).version == 2
    # Every version-1 enrollment still reads, advances and fires its timers on version 1.
    waiting, invited = by_state["not_invited"], by_state["invited"]
    assert flow.describe(waiting[0], ANA).workflow_version == 1
    assert flow.describe(invited[0], ANA).status == "Invited"
    flow.advance(AdvanceEnrollment(waiting[0], "enroll_now", ANA, inputs=ENROLL_NOW))
    clock.advance(timedelta(days=6, hours=1))  # version 1 re-sends after 7 days (version 2 would after 5)
    assert flow.sweeper.sweep().counts["fired"] == INVITED  # every version-1 invite re-sent on time
    with flow.db.connect() as conn:
        bodies = list(conn.execute(select(outbox.c.body).order_by(outbox.c.id.desc()).limit(INVITED + 1)).scalars())
    assert not any(b.startswith("Version two.") for b in bodies)  # version 1's template, whatever the folder says
    assert versions(flow)[(1, "invited")] == INVITED + 1

    # The dry run says what would happen to each, and moves nothing.
    assert main(["workflows", "migrate", PXP, "--to", "2", "--dry-run", "--database-url", database_url]) == 1
    out = capsys.readouterr().out.splitlines()
    blocked = [line for line in out if ": blocked: state 'not_invited' is gone in version 2 and not mapped" in line]
    assert len(blocked) == WAITING - 1
    assert len([line for line in out if ": would move: timer 'resend_invite' kept, due " in line]) == INVITED + 1
    assert out[-1] == (f"dry run of {PXP} to version 2: {INVITED + 1} would move, {WAITING - 1} blocked (of "
                       f"{INVITED + WAITING} running on older versions)")
    with pytest.raises(InvalidInput, match="version 2 has no state 'nowhere'"):
        flow.versions.migrate(MigrateWorkflow(PXP, 2, DEE, {"not_invited": "nowhere"}, dry_run=True))
    assert versions(flow)[(1, "not_invited")] == WAITING - 1

    # The migration, killed half-way, then run again: each enrollment moves exactly once.
    script = tmp_path / "migrate_child.py"
    script.write_text(CHILD, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(ROOT), str(ROOT / "tests")))}
    child = subprocess.Popen([sys.executable, str(script), database_url, str(room), clock.now().isoformat()],
                             cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and sum(migrated_rows(flow).values()) < 10:
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    moved_before = sum(migrated_rows(flow).values())
    assert 0 < moved_before < WAITING + INVITED, "the kill should land mid-migration"
    assert main(["workflows", "migrate", PXP, "--to", "2", "--map", "not_invited=waiting", "--reason",
                 "faster re-sends", "--by", "dee", "--database-url", database_url]) == 0  # as the reference has it
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == (f"migration of {PXP} to version 2: {WAITING + INVITED - moved_before} moved (of "
                       f"{WAITING + INVITED - moved_before} running on older versions)")
    moved = migrated_rows(flow)
    assert set(moved) == set(waiting + invited)
    assert set(moved.values()) == {1}
    assert versions(flow) == Counter({(2, "waiting"): WAITING - 1, (2, "invited"): INVITED + 1,
                                      (1, "activated"): ACTIVATED})
    assert flow.versions.migrate(MigrateWorkflow(PXP, 2, DEE, {}, "again")).outcomes == ()  # nothing left

    # Timers were re-armed by version 2's rules, counting from when they were first armed; the history says so.
    with flow.db.connect() as conn:
        pending = conn.execute(select(timers.c.enrollment_id, timers.c.timer_id, timers.c.armed_at, timers.c.due_at)
                               .where(timers.c.status == "pending")).all()
        row = conn.execute(select(audit_events).where((audit_events.c.action == "migrated")
                                                      & (audit_events.c.enrollment_id == invited[1]))).one()
        assert verify(conn).ok
    assert {p.enrollment_id for p in pending} == set(invited) | {waiting[0]}
    for p in pending:
        assert p.timer_id == "resend_invite"
        armed_at = p.armed_at if p.armed_at.tzinfo else p.armed_at.replace(tzinfo=clock.now().tzinfo)
        due = p.due_at if p.due_at.tzinfo else p.due_at.replace(tzinfo=clock.now().tzinfo)
        assert due >= armed_at + timedelta(days=5)  # version 2's rule, from when it was armed (or opening hours)
    assert (row.from_state, row.to_state, row.actor_id, row.reason) == ("invited", "invited", "dee",
                                                                         "faster re-sends")
    assert row.detail.startswith(f"{PXP} v1 -> v2: timer 'resend_invite' kept, due ")
    flow.close()


HOLD = '''  # handout: "until the patient activates their portal account"
  # While 4 invitations went out in the last 30 days the re-send is held, not dropped: staying in 'invited' arms
  # the resend timer again, so invitations go on once the rolling window allows, until activation.
  - trigger: resend_invite
    from: invited
    to: invited
    by: system
    description: Hold the re-send while 4 invitations went out in the last 30 days, and try again in 7 days.
    unless:
      - within_limit: {limit: invites}

'''


def test_invites_that_stopped_at_the_limit_resume_once_moved_to_the_version_that_holds_them(
        database_url: str, room: Path, workflows_dir: Path, clock: FakeClock) -> None:
    shipped = (workflows_dir / f"{PXP}.yaml").read_text(encoding="utf-8")
    assert HOLD in shipped
    (room / f"{PXP}.yaml").write_text(shipped.replace(HOLD, "").replace("\nversion: 2\n", "\nversion: 1\n"),
                                      encoding="utf-8")  # version 1: at the limit, re-sends stopped for good
    flow = service(database_url, room, clock)
    seed_practice(flow.db)
    start = clock.now()
    eid = flow.start(StartEnrollment(PXP, ANA, patient_id="p-jane")).enrollment_id
    flow.advance(AdvanceEnrollment(eid, "enroll_now", ANA, inputs=ENROLL_NOW))
    for day in (7, 14, 21, 28):
        clock.set(start + timedelta(days=day, minutes=5))
        flow.sweeper.sweep()
    with flow.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outbox)).scalar_one() == 4
        assert conn.execute(select(func.count()).select_from(timers).where(timers.c.status == "pending")) \
            .scalar_one() == 0  # the 5th re-send was refused on day 28: nothing is armed any more
    flow.close()

    shutil.copy(workflows_dir / f"{PXP}.yaml", room / f"{PXP}.yaml")  # the shipped version 2
    clock.set(start + timedelta(days=29))
    flow = service(database_url, room, clock)
    report = flow.versions.migrate(MigrateWorkflow(PXP, 2, DEE, {}, "re-sends resume when the window allows"))
    assert [(o.outcome, o.to_state) for o in report.outcomes] == [("moved", "invited")]
    assert report.outcomes[0].detail.startswith("timer 'resend_invite' armed, due ")
    clock.set(start + timedelta(days=36, minutes=5))  # 7 days after the move; the day-0 invite has left the window
    assert flow.sweeper.sweep().counts["fired"] == 1
    with flow.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outbox)).scalar_one() == 5
    assert flow.describe(eid, ANA).workflow_version == 2
    flow.close()
