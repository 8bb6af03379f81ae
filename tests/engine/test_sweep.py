"""The sweep fires every due timer exactly once: on time, late, after a crash, and with several processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeClock
from sqlalchemy import func, insert, select, text, update

from definitions.model import Actor
from engine.actors import SYSTEM_ACTOR, ActorRef
from engine.background.quiet_firing import QuietFirings
from engine.bootstrap import build
from engine.calendars.site_calendar import SiteCalendar
from engine.calendars.store import save_calendar
from engine.credentials.hashing import TEST_COST
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.portal import PresentPin
from engine.enrollments.start import StartEnrollment
from engine.errors import CredentialRefused
from engine.front_door.flow import PortalFlow
from engine.storage.tables import audit_events, patients, sites, timers

ROOT = Path(__file__).resolve().parents[2]
KEY = b"k" * 43 + b"="
ANA = ActorRef("ana", "staff", Actor.STAFF)

TIMED = """\
id: timed
version: 1
title: Timed procedure
source: handout.txt
subject: patient
initial: waiting
states:
  waiting:
    status: Waiting
    description: Waiting for the timer.
  done:
    status: Done
    description: The timer fired.
    final: true
transitions:
  - trigger: time_up
    from: waiting
    to: done
    by: system
timers:
  countdown:
    in: waiting
    after: 1d
    fire: time_up
    opening_hours: {opening_hours}
    late: {late}
"""

NEW_YORK_7_DAYS = SiteCalendar(zone="America/New_York", hours={d: ((wall(8), wall(17)),) for d in range(7)},
                               country="US", subdivision="NY")


def _timed_flow(folder: Path, url: str, clock: FakeClock, *, opening_hours: bool = False,
                late: str = "fire") -> PortalFlow:
    (folder / "templates").mkdir(parents=True, exist_ok=True)
    (folder / "templates" / "unused.j2").write_text("{% block body %}x{% endblock %}\n", encoding="utf-8")
    (folder / "handout.txt").write_text("A handout.\n", encoding="utf-8")
    (folder / "timed.yaml").write_text(TIMED.format(opening_hours=str(opening_hours).lower(), late=late),
                                       encoding="utf-8")
    return build(url, folder, clock=clock, hash_cost=TEST_COST, secret_key=KEY, mail_folder=folder / "mail")


def _patients(flow: PortalFlow, n: int) -> list[str]:
    ids = [f"p{i:04d}" for i in range(n)]
    with flow.db.begin() as conn:
        conn.execute(insert(sites).values(id="main", name="Main", timezone="America/New_York",
                                          portal_url="https://portal.example.test", phone="(617) 555-0100",
                                          specialist_office=False))
        conn.execute(insert(patients), [{"id": pid, "site_id": "main", "given_name": "Pat", "family_name": pid,
                                         "name_is_placeholder": False, "email_confirmed_personal": False,
                                         "portal_access_enabled": False} for pid in ids])
    return ids


def _start_all(flow: PortalFlow, ids: list[str]) -> list[str]:
    return [flow.start(StartEnrollment("timed", ANA, patient_id=pid)).enrollment_id for pid in ids]


def _firings_per_enrollment(flow: PortalFlow) -> dict[str, int]:
    with flow.db.connect() as conn:
        rows = conn.execute(select(audit_events.c.enrollment_id, func.count()).where(
            (audit_events.c.action == "transition") & (audit_events.c.trigger == "time_up")
            & (audit_events.c.outcome == "ok")).group_by(audit_events.c.enrollment_id)).all()
    return {eid: n for eid, n in rows}


def _timer_statuses(flow: PortalFlow) -> dict[str, int]:
    with flow.db.connect() as conn:
        return {s: n for s, n in conn.execute(select(timers.c.status, func.count()).group_by(timers.c.status))}


@pytest.fixture
def timed(tmp_path: Path, database_url: str, clock: FakeClock) -> Iterator[Callable[..., PortalFlow]]:
    made: list[PortalFlow] = []

    def make(**options: Any) -> PortalFlow:
        flow = _timed_flow(tmp_path / "room", database_url, clock, **options)
        made.append(flow)
        return flow

    yield make
    for flow in made:
        flow.db.dispose()


# ----- on time ---------------------------------------------------------------------------------------------------

def test_a_pin_issued_at_t_expires_at_t_plus_30_days_and_not_a_second_earlier(flow: Any, clock: FakeClock) -> None:
    started = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id="p-jane"))
    issued = flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_pin", ANA))
    pin = issued.shown[0].value
    t = clock.now()
    clock.set(t + timedelta(days=30) - timedelta(seconds=1))
    assert flow.sweeper.sweep().counts["fired"] == 0
    with flow.db.connect() as conn:
        due = conn.execute(select(timers.c.due_at).where(timers.c.status == "pending")).scalar_one()
    assert (due.replace(tzinfo=UTC) if due.tzinfo is None else due) == t + timedelta(days=30)
    clock.set(t + timedelta(days=30))
    report = flow.sweeper.sweep()
    assert report.counts["fired"] == 1
    with pytest.raises(CredentialRefused) as refused:
        flow.present_pin(PresentPin(pin, date(1980, 4, 1)))
    assert refused.value.why == "expired"
    assert flow.sweeper.sweep().handled == 0  # fired once: nothing left to fire


def test_a_pin_presented_one_second_before_expiry_still_registers(flow: Any, clock: FakeClock) -> None:
    started = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id="p-jane"))
    issued = flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_pin", ANA))
    clock.set(clock.now() + timedelta(days=30) - timedelta(seconds=1))
    registered = flow.present_pin(PresentPin(issued.shown[0].value, date(1980, 4, 1)))
    assert registered.to_state == "registered"
    clock.set(clock.now() + timedelta(days=1))
    assert flow.sweeper.sweep().handled == 0  # leaving the state cancelled the expiry


# ----- late firings ------------------------------------------------------------------------------------------------

def test_a_timer_found_late_fires_once_and_says_it_was_late(timed: Callable[..., PortalFlow],
                                                            clock: FakeClock) -> None:
    flow = timed(late="fire")
    (eid,) = _start_all(flow, _patients(flow, 1))
    clock.set(clock.now() + timedelta(days=3))  # everything was down for two days
    assert flow.sweeper.sweep().counts["fired"] == 1
    with flow.db.connect() as conn:
        reason = conn.execute(select(audit_events.c.reason).where(audit_events.c.trigger == "time_up")).scalar_one()
    assert reason == "timer 'countdown' due 2026-03-03 14:00 UTC, fired 2 days 0 h late"
    assert _firings_per_enrollment(flow) == {eid: 1}


def test_a_late_timer_whose_policy_is_skip_is_dropped_and_the_reason_recorded(timed: Callable[..., PortalFlow],
                                                                             clock: FakeClock) -> None:
    flow = timed(late="skip")
    (eid,) = _start_all(flow, _patients(flow, 1))
    clock.set(clock.now() + timedelta(days=1, hours=1))
    assert flow.sweeper.sweep().counts["skipped"] == 1
    with flow.db.connect() as conn:
        detail = conn.execute(select(audit_events.c.detail).where(
            audit_events.c.action == "timer_skipped")).scalar_one()
    assert detail == "timer 'countdown': due 2026-03-03 14:00 UTC, found 1 h 0 min late; late policy: skip"
    assert eid not in _firings_per_enrollment(flow)
    assert _timer_statuses(flow) == {"skipped": 1}


def test_a_timer_found_within_the_grace_period_fires_even_when_its_policy_is_skip(
        timed: Callable[..., PortalFlow], clock: FakeClock) -> None:
    flow = timed(late="skip")
    _start_all(flow, _patients(flow, 1))
    clock.set(clock.now() + timedelta(days=1, minutes=10))
    assert flow.sweeper.sweep().counts["fired"] == 1


# ----- one bad enrollment -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("failure", ["python", "database"])
def test_one_failing_enrollment_does_not_stop_the_others_and_is_retried_then_marked_failed(
        timed: Callable[..., PortalFlow], clock: FakeClock, monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
    flow = timed()
    ids = _start_all(flow, _patients(flow, 3))
    bad = ids[1]
    real = flow.advancer.advance_in

    def breaking(conn: Any, command: AdvanceEnrollment, **options: Any) -> Any:
        if command.enrollment_id == bad:
            if failure == "database":  # on PostgreSQL this aborts the transaction up to the timer's savepoint
                conn.execute(text("SELECT * FROM no_such_table"))
            raise RuntimeError("template server unreachable")
        return real(conn, command, **options)

    real_quiet = QuietFirings.fire

    def breaking_quiet(fast: QuietFirings, conn: Any, row: Any, *rest: Any) -> bool:  # the sweep's fast path
        if row.id == bad:
            return bool(breaking(conn, AdvanceEnrollment(row.id, "time_up", SYSTEM_ACTOR)))
        return real_quiet(fast, conn, row, *rest)

    monkeypatch.setattr(flow.advancer, "advance_in", breaking)
    monkeypatch.setattr(QuietFirings, "fire", breaking_quiet)
    clock.set(clock.now() + timedelta(days=1))
    report = flow.sweeper.sweep()
    assert report.counts == {"fired": 2, "refused": 0, "deferred": 0, "skipped": 0, "failed": 1}
    expected = "RuntimeError: template server unreachable" if failure == "python" else "no_such_table"
    assert len(report.problems) == 1
    assert report.problems[0].startswith(f"enrollment {bad}, timer countdown: ")
    assert expected in report.problems[0]
    for _ in range(4):
        clock.set(clock.now() + timedelta(days=1))
        flow.sweeper.sweep()
    with flow.db.connect() as conn:
        status, attempts = conn.execute(select(timers.c.status, timers.c.attempts).where(
            timers.c.enrollment_id == bad)).one()
    assert (status, attempts) == ("failed", 5)
    assert _firings_per_enrollment(flow) == {ids[0]: 1, ids[2]: 1}


# ----- opening hours -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("due", "opens", "why"), [
    (datetime(2026, 3, 8, 7, 0, tzinfo=UTC), datetime(2026, 3, 8, 12, 0, tzinfo=UTC), "before opening at 08:00"),
    (datetime(2026, 11, 1, 8, 0, tzinfo=UTC), datetime(2026, 11, 1, 13, 0, tzinfo=UTC), "before opening at 08:00"),
    (datetime(2026, 11, 26, 8, 0, tzinfo=UTC), datetime(2026, 11, 27, 13, 0, tzinfo=UTC), "Thanksgiving"),
], ids=["spring-forward", "fall-back", "thanksgiving"])
def test_a_timer_due_at_3am_fires_at_8am_local_on_dst_days_and_skips_a_holiday(
        timed: Callable[..., PortalFlow], clock: FakeClock, due: datetime, opens: datetime, why: str) -> None:
    flow = timed(opening_hours=True)
    ids = _patients(flow, 1)
    with flow.db.begin() as conn:
        save_calendar(conn, "main", NEW_YORK_7_DAYS)
    clock.set(due - timedelta(days=1))
    (eid,) = _start_all(flow, ids)
    with flow.db.connect() as conn:
        armed, detail = conn.execute(select(timers.c.due_at, timers.c.detail)).one()
    assert (armed.replace(tzinfo=UTC) if armed.tzinfo is None else armed) == opens
    assert detail.startswith("waits for opening hours: next firing ")
    assert why in detail
    clock.set(opens - timedelta(minutes=1))
    assert flow.sweeper.sweep().handled == 0
    clock.set(opens)
    assert flow.sweeper.sweep().counts["fired"] == 1
    assert _firings_per_enrollment(flow) == {eid: 1}


def test_a_timer_whose_site_closes_after_it_was_armed_waits_for_the_next_opening(
        timed: Callable[..., PortalFlow], clock: FakeClock) -> None:
    flow = timed(opening_hours=True)
    ids = _patients(flow, 1)
    with flow.db.begin() as conn:
        save_calendar(conn, "main", NEW_YORK_7_DAYS)
    clock.set(datetime(2026, 3, 9, 14, 0, tzinfo=UTC))  # Mon 10:00 EDT: due Tue 10:00, open
    _start_all(flow, ids)
    closed = SiteCalendar(zone=NEW_YORK_7_DAYS.zone, hours=NEW_YORK_7_DAYS.hours, country="US", subdivision="NY",
                          closures={date(2026, 3, 10): "Burst pipe"})
    with flow.db.begin() as conn:
        save_calendar(conn, "main", closed)
    clock.set(datetime(2026, 3, 10, 14, 0, tzinfo=UTC))
    assert flow.sweeper.sweep().counts["deferred"] == 1
    with flow.db.connect() as conn:
        pending, detail = conn.execute(select(timers.c.due_at, timers.c.detail).where(
            timers.c.status == "pending")).one()
    assert "Tue 10 Mar closed: Burst pipe" in detail
    assert (pending.replace(tzinfo=UTC) if pending.tzinfo is None else pending) == datetime(2026, 3, 11, 12, 0,
                                                                                            tzinfo=UTC)
    clock.set(datetime(2026, 3, 11, 12, 0, tzinfo=UTC))  # Wed 08:00 EDT
    assert flow.sweeper.sweep().counts["fired"] == 1


# ----- crashes and several processes ---------------------------------------------------------------------------------

CHILD = textwrap.dedent("""\
    import os
    import sys
    import time
    from datetime import datetime
    from pathlib import Path
    from engine.bootstrap import build
    from fakes import FakeClock
    from engine.credentials.hashing import TEST_COST
    url, folder, now = sys.argv[1], Path(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
    flow = build(url, folder, clock=FakeClock(now), hash_cost=TEST_COST, secret_key=b"k" * 43 + b"=",
                 mail_folder=folder / "mail")
    pace, size = float(sys.argv[4]), int(sys.argv[5])
    Path(f"ready-{os.getpid()}").touch()  # built: the test starts every child's sweep at once (`_go`)
    while not Path("go").exists():
        time.sleep(0.005)
    fired = 0
    while True:  # the sweep's own loop, paced so that a test can kill it mid-way
        outcomes = flow.sweeper.fire_batch(size)
        if not outcomes:
            break
        fired += outcomes.count("fired")
        time.sleep(pace)
    print(fired, flush=True)
""")


def _go(tmp_path: Path, children: int) -> None:
    """Once every child is built, let them all sweep: a fast child must not finish before a slow one starts."""
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready-*"))) < children and time.monotonic() < deadline:
        time.sleep(0.01)
    (tmp_path / "go").touch()


def _spawn(tmp_path: Path, url: str, folder: Path, now: datetime, pace: float = 0.0,
           batch: int = 1) -> subprocess.Popen[str]:
    script = tmp_path / "sweep_child.py"
    if not script.exists():  # written once: rewriting it while a child already reads it gave that child an empty file
        script.write_text(CHILD, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(ROOT), str(ROOT / "tests")))}  # the engine, and the fakes
    return subprocess.Popen([sys.executable, str(script), url, str(folder), now.isoformat(), str(pace), str(batch)],
                            cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("batch", [1, 7])
def test_a_sweep_killed_mid_way_and_restarted_fires_every_timer_exactly_once(
        timed: Callable[..., PortalFlow], clock: FakeClock, database_url: str, tmp_path: Path, batch: int) -> None:
    flow = timed()
    ids = _start_all(flow, _patients(flow, 120))
    later = clock.now() + timedelta(days=1)
    child = _spawn(tmp_path, database_url, tmp_path / "room", later, pace=0.01 * batch, batch=batch)
    _go(tmp_path, 1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _timer_statuses(flow).get("fired", 0) < 10:
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)  # no cleanup, no rollback from the process itself
    child.wait(10)
    fired_before = _timer_statuses(flow).get("fired", 0)
    assert 0 < fired_before < len(ids), "the kill should land mid-sweep"
    clock.set(later)
    flow.sweeper.sweep()
    assert _firings_per_enrollment(flow) == dict.fromkeys(ids, 1)
    assert _timer_statuses(flow) == {"fired": len(ids)}


@pytest.mark.postgres
def test_four_processes_sweeping_one_postgresql_database_fire_every_timer_exactly_once(
        tmp_path: Path, postgres_schema_url: str, clock: FakeClock) -> None:
    flow = _timed_flow(tmp_path / "room", postgres_schema_url, clock)
    try:
        ids = _start_all(flow, _patients(flow, 200))
        later = clock.now() + timedelta(days=1)
        # Paced (20 ms between batches) so that, on a loaded machine, the first child to start cannot sweep all 40
        # batches before the others have begun: the test is about sharing, which needs them to overlap.
        children = [_spawn(tmp_path, postgres_schema_url, tmp_path / "room", later, pace=0.02, batch=5)
                    for _ in range(4)]
        _go(tmp_path, len(children))
        fired = []
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0, err[-2000:]
            fired.append(int(out.strip()))
        assert sum(fired) == len(ids)
        assert sum(1 for n in fired if n > 0) >= 2, f"expected the work to be shared: {fired}"
        assert _firings_per_enrollment(flow) == dict.fromkeys(ids, 1)
        assert _timer_statuses(flow) == {"fired": len(ids)}
    finally:
        flow.db.dispose()


def test_a_refused_timer_firing_is_recorded_and_settled(flow: Any, clock: FakeClock) -> None:
    with flow.db.begin() as conn:
        conn.execute(update(patients).where(patients.c.id == "p-jane").values(email=None))
    started = flow.start(StartEnrollment("nextgen-pxp-portal-invites", ANA, patient_id="p-jane"))
    with flow.db.begin() as conn:
        conn.execute(insert(timers).values(enrollment_id=started.enrollment_id, timer_id="resend_invite",
                                           trigger="resend_invite", status="pending", armed_at=clock.now(),
                                           due_at=clock.now(), attempts=0))
    report = flow.sweeper.sweep()
    assert report.counts["refused"] == 1
    assert _timer_statuses(flow) == {"cancelled": 1}
