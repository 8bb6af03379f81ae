"""The enrollment rows the machine runs on: read one, move it, start one, and the guided steps done ahead.

An enrollment row holds its workflow version, state, optimistic version and the head of its audit chain. The hot
path's statements are built once and run on the driver's cursor (`engine.storage.direct`): SQLAlchemy's per-call
machinery cost more than the database work itself (measured by bench/).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ARRAY, Column, Connection, String, any_, bindparam, func, insert, select, update

from definitions.model import WorkflowDefinition
from engine.actors import ActorRef
from engine.errors import NotFound
from engine.storage.direct import DirectStatement
from engine.storage.tables import enrollments, step_completions


class EnrollmentRow(NamedTuple):
    """An enrollment as read. A named tuple, immutable like a frozen dataclass but made in a fraction of its time:
    the sweep makes one per expiry (a frozen dataclass of ten fields cost ~1 µs to build, ten `object.__setattr__`)."""

    id: str
    workflow_id: str
    workflow_version: int
    patient_id: str | None
    household_id: str | None
    state: str
    version: int
    selected_children: tuple[str, ...]
    audit_seq: int
    audit_head: str


# The columns an `EnrollmentRow` is made of, in its fields' order (`enrollment_row` takes them so).
ROW_COLUMNS: tuple[Column[Any], ...] = (
    enrollments.c.id, enrollments.c.workflow_id, enrollments.c.workflow_version, enrollments.c.patient_id,
    enrollments.c.household_id, enrollments.c.state, enrollments.c.version, enrollments.c.selected_children,
    enrollments.c.audit_seq, enrollments.c.audit_head)
_COLUMNS = select(*ROW_COLUMNS)
_READ = DirectStatement(_COLUMNS.where(enrollments.c.id == bindparam("b_id")))
# Guarded by the version AND the chain's seq: recording a refused attempt (or a note, a delivery) appends to the
# chain without moving the version, and a move that read the row before must not write a stale seq after it.
_MOVE = DirectStatement(update(enrollments).where(
    (enrollments.c.id == bindparam("b_id")) & (enrollments.c.version == bindparam("b_version"))
    & (enrollments.c.audit_seq == bindparam("b_read_seq"))).values(
    state=bindparam("b_state"), version=bindparam("b_next"), selected_children=bindparam("b_selected"),
    audit_seq=bindparam("b_seq"), audit_head=bindparam("b_head"), updated_at=bindparam("b_now")))


def read_enrollment(conn: Connection, enrollment_id: str) -> EnrollmentRow:
    row = _READ.first(conn, {"b_id": enrollment_id})
    if row is None:
        raise NotFound("enrollment", enrollment_id)
    return enrollment_row(row)


def enrollment_row(row: Any) -> EnrollmentRow:
    """An `EnrollmentRow` from the values of `ROW_COLUMNS`, in that order."""
    eid, workflow_id, workflow_version, patient_id, household_id, state, version, selected, seq, head = row
    return EnrollmentRow(eid, workflow_id, workflow_version, patient_id, household_id, state, version,
                         tuple(selected or ()), seq, head)


def read_enrollments(conn: Connection, enrollment_ids: Collection[str]) -> dict[str, EnrollmentRow]:
    """Many enrollments in one statement (the sweep reads a batch's at once), by id; missing ids are left out."""
    if not enrollment_ids:
        return {}
    found = conn.execute(_COLUMNS.where(enrollments.c.id.in_(list(enrollment_ids))))
    return {row.id: row for row in map(enrollment_row, found)}


# A move's parameters, in the order of `moved`'s values.
MOVE_KEYS = ("b_id", "b_version", "b_read_seq", "b_state", "b_next", "b_selected", "b_seq", "b_head", "b_now")
_ID, _HEAD = MOVE_KEYS.index("b_id"), MOVE_KEYS.index("b_head")


def move(conn: Connection, row: EnrollmentRow, state: str, selected: tuple[str, ...], seq: int, head: str,
         now: datetime) -> bool:
    """Move the enrollment read as `row` to `state` with its new chain head; False when it changed meanwhile (its
    version, or only its chain: then reading it again shows the same version)."""
    return _MOVE.execute(conn, dict(zip(MOVE_KEYS, moved(row, state, selected, seq, head, now), strict=True))) == 1


def moved(row: EnrollmentRow, state: str, selected: tuple[str, ...], seq: int, head: str,
          now: datetime) -> tuple[Any, ...]:
    """What `move` writes, as its values in `MOVE_KEYS` order, for a caller that moves many enrollments together
    (`move_many`): a batch keeps values, not a dict per move."""
    return (row.id, row.version, row.audit_seq, state, row.version + 1, list(selected) or None, seq, head, now)


def move_many(conn: Connection, moves: Sequence[Sequence[Any]]) -> int:
    """Run many `moved` rows with one executemany; how many of them moved.

    SQLite counts the rows a connection changed (`total_changes`: no statement needed). Elsewhere each move's new
    chain head is unique to it, so the enrollments now holding those heads are exactly the ones moved (one SELECT
    with two array parameters, not one parameter per row)."""
    if not moves:
        return 0
    driver = conn.connection.driver_connection
    if conn.dialect.name == "sqlite":
        before = driver.total_changes  # type: ignore[union-attr]
        _MOVE.execute_many_values(conn, MOVE_KEYS, moves)
        return int(driver.total_changes - before)  # type: ignore[union-attr]
    _MOVE.execute_many_values(conn, MOVE_KEYS, moves)
    heads = conn.execute(select(func.count()).select_from(enrollments).where(
        (enrollments.c.id == any_(bindparam("b_ids", type_=ARRAY(String))))
        & (enrollments.c.audit_head == any_(bindparam("b_heads", type_=ARRAY(String))))),
        {"b_ids": [m[_ID] for m in moves], "b_heads": [m[_HEAD] for m in moves]})
    return int(heads.scalar_one())


_MIGRATE = DirectStatement(update(enrollments).where(
    (enrollments.c.id == bindparam("b_id")) & (enrollments.c.version == bindparam("b_version"))
    & (enrollments.c.audit_seq == bindparam("b_read_seq"))).values(
    workflow_version=bindparam("b_workflow_version"), content_hash=bindparam("b_content_hash"),
    state=bindparam("b_state"), version=bindparam("b_next"), audit_seq=bindparam("b_seq"),
    audit_head=bindparam("b_head"), updated_at=bindparam("b_now")))


def move_to_version(conn: Connection, row: EnrollmentRow, definition: WorkflowDefinition, state: str, seq: int,
                    head: str, now: datetime) -> bool:
    """Put the enrollment read as `row` on another version of its workflow, in `state`; False when it changed
    meanwhile. Its steps ticked ahead belong to the old version number and no longer apply."""
    return _MIGRATE.execute(conn, {
        "b_id": row.id, "b_version": row.version, "b_read_seq": row.audit_seq,
        "b_workflow_version": definition.version,
        "b_content_hash": definition.content_hash, "b_state": state, "b_next": row.version + 1, "b_seq": seq,
        "b_head": head, "b_now": now}) == 1


def running_on_versions(conn: Connection, workflow_id: str, finals: dict[int, list[str]],
                        limit: int | None = None) -> list[EnrollmentRow]:
    """The enrollments of `workflow_id` on the versions in `finals` that are not in one of their final states,
    grouped by version and state (a dry run of hundreds reads state by state), then in id order."""
    query = (_COLUMNS.where((enrollments.c.workflow_id == workflow_id)
                            & enrollments.c.workflow_version.in_(list(finals)))
             .order_by(enrollments.c.workflow_version, enrollments.c.state, enrollments.c.id))
    running = [row for row in map(enrollment_row, conn.execute(query)) if row.state not in finals[row.workflow_version]]
    return running[:limit] if limit is not None else running


def steps_ticked(conn: Connection, row: EnrollmentRow) -> int:
    """How many steps were ticked ahead in the enrollment's current state (its current version number)."""
    return int(conn.execute(select(func.count()).select_from(step_completions).where(
        (step_completions.c.enrollment_id == row.id)
        & (step_completions.c.enrollment_version == row.version))).scalar_one())


def insert_enrollment(conn: Connection, enrollment_id: str, definition: WorkflowDefinition, *, patient_id: str | None,
                      household_id: str | None, site_id: str, selected: tuple[str, ...], head: str,
                      now: datetime) -> None:
    """A new enrollment in the workflow's initial state, version 1, its chain holding its first row; `site_id` is
    its subject's site."""
    conn.execute(insert(enrollments).values(
        id=enrollment_id, workflow_id=definition.id, workflow_version=definition.version,
        content_hash=definition.content_hash, patient_id=patient_id, household_id=household_id, site_id=site_id,
        state=definition.initial, version=1, selected_children=list(selected) or None, audit_seq=1,
        audit_head=head, started_at=now, updated_at=now))


def running_for(conn: Connection, definition: WorkflowDefinition, *, patient_id: str | None = None,
                household_id: str | None = None) -> tuple[str, str] | None:
    """(id, state) of the subject's enrollment in this workflow that has not reached a final state, if any."""
    finals = [s.id for s in definition.states if s.final]
    subject = (enrollments.c.household_id == household_id) if household_id else (
        enrollments.c.patient_id == patient_id)
    found = conn.execute(select(enrollments.c.id, enrollments.c.state).where(
        subject & (enrollments.c.workflow_id == definition.id) & enrollments.c.state.not_in(finals))).first()
    return None if found is None else (found.id, found.state)


# Read on every advance of a trigger with guided steps (most staff actions): built once, like `_READ`.
_STORED = DirectStatement(select(step_completions.c.step_id, step_completions.c.inputs).where(
    (step_completions.c.enrollment_id == bindparam("b_id"))
    & (step_completions.c.enrollment_version == bindparam("b_version"))
    & (step_completions.c.trigger == bindparam("b_trigger"))).order_by(step_completions.c.id))


def stored_inputs(conn: Connection, row: EnrollmentRow, trigger: str) -> dict[str, Any]:
    """Steps completed one at a time earlier, in this state (the same enrollment version)."""
    found = _STORED.all(conn, {"b_id": row.id, "b_version": row.version, "b_trigger": trigger})
    return {step_id: (inputs or {}).get("value") for step_id, inputs in found}


def record_step(conn: Connection, row: EnrollmentRow, trigger: str, step_id: str, value: Any, actor: ActorRef,
                now: datetime) -> None:
    conn.execute(insert(step_completions).values(
        enrollment_id=row.id, enrollment_version=row.version, trigger=trigger, step_id=step_id,
        inputs={"value": value}, actor_id=actor.id, completed_at=now))
