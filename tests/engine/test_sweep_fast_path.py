"""The sweep's fast path writes what the advancer writes, byte for byte: the templated audit entry equals the one
`prepare` makes, and sweeping the shipped workflows' quiet timer transitions the fast way and the ordinary way
leaves identical audit rows, enrollments and timers; after a fast sweep `portalflow audit verify` passes."""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeClock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from practice import seed_practice
from sqlalchemy import create_engine, insert, text

from api.cli import main
from definitions.model import WorkflowDefinition
from engine.actors import SYSTEM_ACTOR
from engine.audit.entry import GENESIS, ChainHead, about_enrollment
from engine.audit.template import TransitionTemplate
from engine.audit.trail import AUDIT_ROW_KEYS, prepare
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.front_door.flow import PortalFlow
from engine.fsm.rows import EnrollmentRow
from engine.storage.tables import enrollments, timers

ROOT = Path(__file__).resolve().parents[2]
KEY = b"k" * 43 + b"="

# A workflow whose timer transitions arm the next state's timers, one of them in the site's opening hours (the fast
# path then reads the site's calendar, as the advancer does), for a household (the subject is the household).
CHAINED = """\
id: chained-timers
version: 1
title: Chained timers
source: handouts/nextgen-regenerate-expired-pin.txt
subject: household
initial: first
states:
  first:
    status: First
    description: Waiting for the first timer.
  second:
    status: Second
    description: Waiting for the second timer.
  third:
    status: Third
    description: Waiting for the third timer.
  done:
    status: Done
    description: Every timer fired.
    final: true
transitions:
  - trigger: next
    from: first
    to: second
    by: system
  - trigger: next
    from: second
    to: third
    by: system
  - trigger: next
    from: third
    to: done
    by: system
timers:
  one:
    in: first
    after: 1d
    fire: next
    late: fire
  two:
    in: second
    after: 2d
    fire: next
    opening_hours: true
    late: fire
  reminder:
    in: second
    after: 3h
    fire: next
    late: skip
  three:
    in: third
    at: "09:30"
    fire: next
    late: fire
"""

_texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
_ids = st.text(st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp", "Zs", "Cf", "Co", "Cn")), min_size=1,
               max_size=64)
_heads = st.text("0123456789abcdef", min_size=64, max_size=64)
_zones = st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))])


def _row(enrollment_id: str, patient: str | None, household: str | None, state: str, seq: int,
         head: str) -> EnrollmentRow:
    return EnrollmentRow(enrollment_id, "wf", 1, patient, household, state, 3, (), seq, head)


@settings(max_examples=300, deadline=None)
@given(first=_ids, other=_ids, patient=st.none() | _ids, household=st.none() | _ids, state=_ids, dest=_ids,
       trigger=_ids, first_reason=_texts, reason=_texts, seq=st.integers(0, 2**31), head=_heads,
       at=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=_zones))
def test_a_templated_audit_entry_is_byte_for_byte_the_entry_the_advancer_prepares(
        first: str, other: str, patient: str | None, household: str | None, state: str, dest: str, trigger: str,
        first_reason: str, reason: str, seq: int, head: str, at: datetime) -> None:
    made_from = _row(first, "p-first", None, state, 0, GENESIS)
    template = TransitionTemplate(about_enrollment(made_from, at, SYSTEM_ACTOR, "transition", "ok", to_state=dest,
                                                   trigger=trigger, inputs=None, reason=first_reason))
    row = _row(other, patient, household, state, seq, head)
    expected, _ = prepare([about_enrollment(row, at, SYSTEM_ACTOR, "transition", "ok", to_state=dest,
                                            trigger=trigger, inputs=None, reason=reason)], ChainHead(seq, head))
    values = template.row(row, reason)
    assert values is not None
    assert dict(zip(AUDIT_ROW_KEYS, values, strict=True)) == expected[0]


@pytest.mark.parametrize("enrollment_id", ["", "x" * 65, "tab\there", "line\nbreak"])
def test_an_id_that_could_not_be_a_chain_is_left_to_the_ordinary_way(enrollment_id: str) -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    template = TransitionTemplate(about_enrollment(_row("e1", "p1", None, "a", 0, GENESIS), now, SYSTEM_ACTOR,
                                                   "transition", "ok", to_state="b", trigger="t", reason="why"))
    assert template.row(_row(enrollment_id, "p1", None, "a", 0, GENESIS), "why") is None


# ----- the fast way and the ordinary way, on two databases seeded alike ---------------------------------------------

def _room(folder: Path) -> Path:
    shutil.copytree(ROOT / "workflows", folder)
    (folder / "chained-timers.yaml").write_text(CHAINED, encoding="utf-8")
    return folder


@pytest.fixture
def twin_urls(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases of the same kind: the parametrised one, and a second beside it."""
    if database_url.startswith("sqlite"):
        yield database_url, f"sqlite:///{tmp_path / 'twin.db'}"
        return
    admin = create_engine(os.environ["PORTALFLOW_TEST_DATABASE_URL"])
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield database_url, database_url.replace(database_url.rsplit("%3D", 1)[1], schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def twins(twin_urls: tuple[str, str], tmp_path: Path, clock: FakeClock) -> Iterator[tuple[PortalFlow, PortalFlow]]:
    """The same room and practice twice: the first sweeps the fast way (its batch's rows written together), the
    second the plainest way: each timer alone through the advancer, which writes each row with its own statement."""
    room = _room(tmp_path / "room")
    fast, ordinary = (build(url, room, clock=clock, hash_cost=TEST_COST, secret_key=KEY, mail_folder=tmp_path / "mail",
                            skip_invalid_workflows=False) for url in twin_urls)
    ordinary.sweeper.fast = False
    ordinary.sweeper._together = lambda *_: None  # type: ignore[method-assign]  # "do it timer by timer"
    for flow in (fast, ordinary):
        seed_practice(flow.db)
    yield fast, ordinary
    fast.close()
    ordinary.close()


def _quiet_timers(flow: PortalFlow) -> list[tuple[WorkflowDefinition, str]]:
    """Every (workflow, timer) whose trigger is quiet in the timer's state: the fast path's whole domain."""
    found = []
    for definition in flow.catalog.all():
        for timer in definition.timers:
            if flow.advancer.choices.quiet(definition, timer.state, timer.fire):
                found.append((definition, timer.id))
    return found


_numbers = itertools.count()
_case = st.tuples(st.integers(0, 100), st.sampled_from(["p-jane", "h-lee"]), st.sets(st.sampled_from(
    ["c-ava", "c-ben", "c-cal"])), st.integers(0, 4 * 24 * 60), st.text(st.sampled_from("aé✓\"\\'-_ 7"), max_size=8),
    st.booleans())


def _seed(flows: tuple[PortalFlow, ...], cases: list[tuple[Any, ...]], quiet: list[tuple[WorkflowDefinition, str]],
          now: datetime) -> None:
    enrollment_rows, timer_rows = [], []
    for pick, subject, children, minutes, tail, second_timer in cases:
        definition, timer_id = quiet[pick % len(quiet)]
        timer = definition.timer(timer_id)
        household = subject if subject.startswith("h-") and definition.subject.value == "household" else None
        enrollment_id = f"e{next(_numbers):06d}{tail}"
        enrollment_rows.append({
            "id": enrollment_id, "workflow_id": definition.id, "workflow_version": definition.version,
            "content_hash": definition.content_hash, "patient_id": None if household else "p-jane",
            "household_id": household, "state": timer.state, "version": 2,
            "selected_children": sorted(children) or None if household else None, "audit_seq": 0,
            "audit_head": GENESIS, "started_at": now - timedelta(days=40), "updated_at": now - timedelta(days=40)})
        due = now - timedelta(minutes=minutes)
        timer_rows.append({"enrollment_id": enrollment_id, "timer_id": timer.id, "trigger": timer.fire,
                           "status": "pending", "armed_at": due - timedelta(days=30), "due_at": due, "attempts": 0})
        others = [t for t in definition.timers if t.state == timer.state and t.id != timer.id]
        if second_timer and others:  # a sibling timer still pending: the firing cancels it
            timer_rows.append({**timer_rows[-1], "timer_id": others[0].id, "trigger": others[0].fire,
                               "due_at": now + timedelta(hours=3)})
    for flow in flows:
        with flow.db.begin() as conn:
            conn.execute(insert(enrollments), enrollment_rows)
            conn.execute(insert(timers), timer_rows)


def _stored(flow: PortalFlow) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a firing writes, as the driver returns them (the stored text, not converted), but
    for the ids the database numbers rows with: a batch writes its audit rows after a skipped timer's note, timer by
    timer writes them in turn (the order within each chain is its seq either way)."""
    order = {"audit_events": "chain, seq", "enrollments": "id", "timers": "enrollment_id, timer_id, due_at"}
    stored = {}
    with flow.db.connect() as conn:
        for table, by in order.items():
            found = conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY {by}")
            keep = [i for i, name in enumerate(found.keys()) if table == "enrollments" or name != "id"]
            stored[table] = [tuple(row[i] for i in keep) for row in found]
    return stored


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=st.lists(_case, min_size=1, max_size=30), batch=st.integers(1, 40))
def test_the_fast_path_and_the_advancer_store_identical_rows_for_every_quiet_timer_transition(
        twins: tuple[PortalFlow, PortalFlow], clock: FakeClock, cases: list[tuple[Any, ...]], batch: int) -> None:
    fast, ordinary = twins
    quiet = _quiet_timers(fast)
    assert {definition.id for definition, _ in quiet} >= {
        "nextgen-regenerate-expired-pin", "op-generate-pin-easy-button", "intellichart-pins-for-siblings",
        "portal-invitation-reset-onboarding", "chained-timers"}
    clock.set(clock.now() + timedelta(days=1))
    _seed(twins, cases, quiet, clock.now())
    fast.sweeper.batch = ordinary.sweeper.batch = batch
    fast_report, ordinary_report = fast.sweeper.sweep(), ordinary.sweeper.sweep()
    assert fast_report.counts == ordinary_report.counts
    assert fast_report.handled >= len(cases)  # and the chained timers armed by earlier examples, now due
    assert _stored(fast) == _stored(ordinary)


def test_the_fast_path_fires_quiet_transitions_without_the_advancer_after_the_machine_chose_once(
        twins: tuple[PortalFlow, PortalFlow], clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, _ = twins
    pin_expiry = [(d, t) for d, t in _quiet_timers(fast) if d.id == "nextgen-regenerate-expired-pin"]
    clock.set(clock.now() + timedelta(days=1))
    _seed((fast,), [(0, "p-jane", set(), 30, "", False)] * 20, pin_expiry, clock.now())
    asked: list[str] = []
    real = fast.advancer.advance_in

    def counting(conn: Any, command: Any, **options: Any) -> Any:
        asked.append(command.enrollment_id)
        return real(conn, command, **options)

    monkeypatch.setattr(fast.advancer, "advance_in", counting)
    assert fast.sweeper.sweep().counts["fired"] == 20
    assert len(asked) == 1  # the first asks the machine; the other 19 reuse its choice


def test_portalflow_audit_verify_passes_after_a_fast_sweep(
        twins: tuple[PortalFlow, PortalFlow], clock: FakeClock, twin_urls: tuple[str, str],
        capsys: pytest.CaptureFixture[str]) -> None:
    fast, _ = twins
    quiet = _quiet_timers(fast)
    clock.set(clock.now() + timedelta(days=1))
    _seed((fast,), [(i, "h-lee" if i % 2 else "p-jane", {"c-ava"} if i % 3 else set(), i * 7, "", i % 4 == 0)
                    for i in range(60)], quiet, clock.now())
    fast.sweeper.batch = 25
    for _ in range(4):  # the chained workflow fires again as its next timers fall due
        assert not fast.sweeper.sweep().problems
        clock.set(clock.now() + timedelta(days=3))
    assert main(["audit", "verify", "--database-url", twin_urls[0]]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("ok: ")
