"""Timer rows: every statement on the `timers` table is here — arm, cancel, claim, settle, defer, retry, list.

A timer is a row with a `due_at`, never an in-process thread: the sweep (`engine.background.sweep`) fires due rows
through the engine, so time that passes while everything is down is simply still due. Arming, cancelling and
settling run on every transition and every firing, so they are built once and run on the driver's cursor, like
the transition's own statements. The sweep writes a whole batch's at once: arms as rows for one executemany
(`state_arms`), cancellations and settlements as one statement per kind (`cancel_together`, `settle_together`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ARRAY,
    Column,
    ColumnElement,
    Connection,
    String,
    any_,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    update,
)

from definitions.model import Timer, WorkflowDefinition
from engine.calendars.site_calendar import SiteCalendar
from engine.clock import as_utc
from engine.storage.direct import DirectStatement
from engine.storage.tables import enrollments, timers
from engine.timers.plan import plan

# A pending timer, as every read that needs an index states it: a literal, which the planner matches to the
# indexes' condition (revision 0015); a bound parameter it cannot (SQLite never; PostgreSQL not in a generic plan).
PENDING: ColumnElement[bool] = timers.c.status == literal_column("'pending'")

_CANCEL = DirectStatement(update(timers).where(
    (timers.c.enrollment_id == bindparam("b_enrollment")) & PENDING
    & (timers.c.timer_id == bindparam("b_timer"))).values(status=bindparam("b_cancelled"),
                                                          settled_at=bindparam("b_now")))
_ARM = DirectStatement(insert(timers), columns=[
    "enrollment_id", "timer_id", "trigger", "status", "armed_at", "due_at", "attempts", "detail"])
_SETTLE = DirectStatement(update(timers).where(timers.c.id == bindparam("b_id")).values(
    status=bindparam("b_status"), detail=bindparam("b_detail"), settled_at=bindparam("b_now")))

_STATUS = DirectStatement(select(timers.c.status).where(timers.c.id == bindparam("b_id")))



def _in_set(column: Column[Any], name: str, postgres: bool) -> ColumnElement[bool]:
    """`column IN` a set passed as one parameter, so the statement is built once whatever the set's size (an IN
    list is compiled again for every size): a PostgreSQL array, or a JSON array that SQLite's `json_each` reads."""
    if postgres:
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(select(literal_column("value")).select_from(func.json_each(bindparam(name, type_=String))))


def _set_of(postgres: bool, values: Collection[Any]) -> Any:
    return list(values) if postgres else json.dumps(list(values))


# PostgreSQL's are sent in binary: a set is an array of a batch's values (`DirectStatement`'s `binary`).
_SETTLE_SETS = {postgres: DirectStatement(update(timers).where(_in_set(timers.c.id, "b_ids", postgres)).values(
    status=bindparam("b_status"), detail=bindparam("b_detail"), settled_at=bindparam("b_now")), binary=postgres)
    for postgres in (False, True)}
# A batch's cancellations in one statement, per dialect (public for the query-plan test, which explains it).
CANCEL_SETS = {postgres: DirectStatement(update(timers).where(
    _in_set(timers.c.enrollment_id, "b_enrollments", postgres) & _in_set(timers.c.timer_id, "b_timers", postgres)
    & PENDING).values(status=bindparam("b_cancelled"), settled_at=bindparam("b_now")), binary=postgres)
    for postgres in (False, True)}


class Claim(NamedTuple):
    """A due pending timer, claimed by one sweep for the length of its transaction. A named tuple: one is made per
    expiry, and a frozen dataclass costs several times as much to build."""

    id: int
    enrollment_id: str
    timer_id: str
    trigger: str
    due_at: datetime
    attempts: int
    enrollment: tuple[Any, ...] | None = ()  # its enrollment's columns, when asked for (None: it is gone)


@dataclass(frozen=True, slots=True)
class PendingTimer:
    id: int
    timer_id: str
    trigger: str
    status: str
    armed_at: datetime
    due_at: datetime
    attempts: int
    detail: str | None


def arm_timer(conn: Connection, enrollment_id: str, timer: Timer, now: datetime,
              calendar: Callable[[], SiteCalendar], *, earliest: datetime | None = None) -> None:
    """Arm `timer` counting from `now`; never due before `earliest` (a re-armed timer that the new rules make
    overdue is due at once, not late)."""
    _ARM.execute(conn, _armed(enrollment_id, timer, now, calendar, earliest))


def _armed(enrollment_id: str, timer: Timer, now: datetime, calendar: Callable[[], SiteCalendar],
           earliest: datetime | None = None) -> dict[str, Any]:
    due, why = plan(now, timer, calendar)
    if earliest is not None and due < earliest:
        due, why = earliest, None
    return {"enrollment_id": enrollment_id, "timer_id": timer.id, "trigger": timer.fire, "status": "pending",
            "armed_at": now, "due_at": due, "attempts": 0, "detail": why}


def arm_state_timers(conn: Connection, definition: WorkflowDefinition, enrollment_id: str, state: str,
                     now: datetime, calendar: Callable[[], SiteCalendar]) -> None:
    """Insert the state's timers; `calendar` is asked for the site's calendar only when a timer needs it."""
    arm_many(conn, state_arms(definition, enrollment_id, state, now, calendar))


def state_arms(definition: WorkflowDefinition, enrollment_id: str, state: str, now: datetime,
               calendar: Callable[[], SiteCalendar]) -> list[dict[str, Any]]:
    """The rows `arm_state_timers` inserts, for a caller that writes many enrollments' rows together."""
    return [_armed(enrollment_id, timer, now, calendar) for timer in definition.timers if timer.state == state]


def arm_many(conn: Connection, armed: list[dict[str, Any]]) -> None:
    _ARM.execute_many(conn, armed)


def cancel_named(conn: Connection, enrollment_id: str, timer_id: str, now: datetime) -> None:
    _CANCEL.execute(conn, {"b_enrollment": enrollment_id, "b_timer": timer_id, "b_now": now,
                           "b_cancelled": "cancelled"})


def cancel_state_timers(conn: Connection, definition: WorkflowDefinition, enrollment_id: str, state: str,
                        now: datetime) -> None:
    for timer in definition.timers:
        if timer.state == state:
            cancel_named(conn, enrollment_id, timer.id, now)


def state_timer_ids(definition: WorkflowDefinition, state: str) -> frozenset[str]:
    """The timers `cancel_state_timers` cancels on leaving `state`, for a caller that cancels many together."""
    return frozenset(timer.id for timer in definition.timers if timer.state == state)


def cancel_together(conn: Connection, enrollment_ids: Collection[str], timer_ids: Collection[str],
                    now: datetime) -> None:
    """`cancel_named` for every (enrollment, timer) pair of the two sets, in one statement."""
    if enrollment_ids and timer_ids:
        postgres = conn.dialect.name == "postgresql"
        CANCEL_SETS[postgres].execute(conn, {
            "b_enrollments": _set_of(postgres, enrollment_ids), "b_timers": _set_of(postgres, sorted(timer_ids)),
            "b_cancelled": "cancelled", "b_now": now})


def claim_due(conn: Connection, now: datetime, size: int,
              enrollment_columns: Sequence[Column[Any]] = ()) -> list[Claim]:
    """Up to `size` due pending timers, oldest first, each with the values of `enrollment_columns` of its enrollment
    read in the same pass (`Claim.enrollment`; None when the enrollment is gone). PostgreSQL: `FOR UPDATE SKIP
    LOCKED`, so several sweepers take different rows, then their enrollments are locked (in id order: no deadlock)
    and read, so staff acting on one finish first. SQLite: the transaction's `BEGIN IMMEDIATE` already admits one
    writer at a time, and one joined statement reads both."""
    joined, skipping, lock = claim_statements(tuple(enrollment_columns))
    params = {"b_now": now, "b_size": size, "b_skip": 0}  # SQLite's LIMIT needs an OFFSET
    if conn.dialect.name != "postgresql":
        width = len(_CLAIMED)
        return [_claim(row[:width], row[width:] if row[width] is not None else None)
                for row in joined.all(conn, params)]
    found = skipping.all(conn, params)
    if not found:
        return []
    locked = {row[0]: row for row in lock.all(conn, {"b_ids": sorted({row[1] for row in found})})}
    return [_claim(row, locked.get(row[1])) for row in found]


_CLAIMED = (timers.c.id, timers.c.enrollment_id, timers.c.timer_id, timers.c.trigger, timers.c.due_at,
            timers.c.attempts)
_CLAIMS: dict[tuple[Column[Any], ...], tuple[DirectStatement, DirectStatement, DirectStatement]] = {}


def claim_statements(columns: tuple[Column[Any], ...]) -> tuple[DirectStatement, DirectStatement, DirectStatement]:
    """(joined, skipping, lock) for one choice of enrollment columns, built once like the other hot statements:
    SQLite claims with the enrollments joined; PostgreSQL claims the timers alone (`skipping`), then `lock`s.
    Public for the query-plan test, which explains them."""
    statements = _CLAIMS.get(columns)
    if statements is None:
        due = PENDING & (timers.c.due_at <= bindparam("b_now"))
        oldest = (timers.c.due_at, timers.c.id)
        found = enrollments.c.id.label("found_enrollment")  # NULL: the enrollment is gone
        joined = (select(*_CLAIMED, found, *columns)
                  .select_from(timers.outerjoin(enrollments, enrollments.c.id == timers.c.enrollment_id))
                  .where(due).order_by(*oldest).limit(bindparam("b_size")).offset(bindparam("b_skip")))
        skipping = (select(*_CLAIMED).where(due).order_by(*oldest).limit(bindparam("b_size"))
                    .offset(bindparam("b_skip"))
                    .with_for_update(skip_locked=True))
        lock = (select(found, *columns).where(enrollments.c.id == any_(bindparam("b_ids", type_=ARRAY(String))))
                .order_by(enrollments.c.id).with_for_update())
        statements = _CLAIMS[columns] = (DirectStatement(joined), DirectStatement(skipping),
                                         DirectStatement(lock, binary=True))
    return statements


def _claim(timer: Sequence[Any], enrollment: Sequence[Any] | None) -> Claim:
    timer_row, enrollment_id, timer_id, trigger, due, attempts = timer
    return Claim(timer_row, enrollment_id, timer_id, trigger, as_utc(due), attempts,
                 None if enrollment is None else tuple(enrollment[1:]))


def still_pending(conn: Connection, timer_row: int) -> bool:
    """Whether a claimed timer is still pending: a firing earlier in the same transaction (of another timer of its
    enrollment) may have cancelled it on leaving its state, and a cancelled timer must not fire."""
    return _STATUS.first(conn, {"b_id": timer_row}) == ("pending",)


def settle(conn: Connection, timer_row: int, status: str, detail: str | None, now: datetime) -> None:
    _SETTLE.execute(conn, {"b_id": timer_row, "b_status": status, "b_detail": detail, "b_now": now})


def settle_together(conn: Connection, timer_rows: Collection[int], status: str, detail: str | None,
                    now: datetime) -> None:
    """`settle` for many timers that end alike, in one statement."""
    if timer_rows:
        postgres = conn.dialect.name == "postgresql"
        _SETTLE_SETS[postgres].execute(conn, {"b_ids": _set_of(postgres, timer_rows), "b_status": status,
                                             "b_detail": detail, "b_now": now})


def defer(conn: Connection, timer_row: int, until: datetime, why: str) -> None:
    conn.execute(update(timers).where(timers.c.id == timer_row).values(due_at=until, detail=why))


def record_failure(conn: Connection, timer_row: int, attempts: int, detail: str, *, retry_at: datetime | None,
                   now: datetime) -> None:
    """After a failed firing: due again at `retry_at`, or (None) failed for good, for an operator."""
    values: dict[str, Any] = {"attempts": attempts, "detail": detail}
    if retry_at is not None:
        values.update(due_at=retry_at)
    else:
        values.update(status="failed", settled_at=now)
    conn.execute(update(timers).where((timers.c.id == timer_row) & PENDING).values(**values))


def next_due(conn: Connection, enrollment_ids: list[str]) -> dict[str, datetime]:
    """Per enrollment, when its soonest pending timer falls due (enrollments with none are left out)."""
    if not enrollment_ids:
        return {}
    found = conn.execute(select(timers.c.enrollment_id, func.min(timers.c.due_at)).where(
        PENDING & timers.c.enrollment_id.in_(enrollment_ids)).group_by(timers.c.enrollment_id))
    return {enrollment_id: as_utc(due) for enrollment_id, due in found if due is not None}


# `status` as a literal: an index whose condition names it (a partial index) matches a literal, never a parameter.
_PENDING_OF = DirectStatement(select(
    timers.c.id, timers.c.timer_id, timers.c.trigger, timers.c.status, timers.c.armed_at, timers.c.due_at,
    timers.c.attempts, timers.c.detail,
).where((timers.c.enrollment_id == bindparam("b_enrollment")) & PENDING)
    .order_by(timers.c.due_at, timers.c.id))


def pending_of(conn: Connection, enrollment_id: str) -> list[PendingTimer]:
    """An enrollment's pending timers, soonest first. Prebuilt: every enrollment read (the busiest request) runs it,
    and building the statement cost more than running it."""
    return [PendingTimer(tid, timer_id, trigger, status, as_utc(armed_at), as_utc(due_at), attempts, detail)
            for tid, timer_id, trigger, status, armed_at, due_at, attempts, detail
            in _PENDING_OF.all(conn, {"b_enrollment": enrollment_id})]
