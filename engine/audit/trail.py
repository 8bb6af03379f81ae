"""The audit trail's one writer: every row of `audit_events` is inserted here, after the head of its chain.

An enrollment's chain keeps its head on the enrollment row (`audit_seq`, `audit_head`): a transition moves it in
the same optimistic UPDATE that moves the state (`prepare`, then `write`); anything else recorded about an
enrollment (a step, a refused attempt, a timer note, a delivery) claims the head with a guarded UPDATE
(`append_to_enrollment`; a concurrent append raises `ChainMoved`). Chains outside an enrollment ("patient:p1",
"staff:u1") find their head by reading their newest row; UNIQUE(chain, seq) catches a concurrent writer and the
append is retried (`append_to_subject`). `record_apart` records in a transaction of its own, retried when the
chain moved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, fields
from operator import itemgetter
from typing import Any, Final

from sqlalchemy import Connection, Engine, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.audit.entry import GENESIS_HEAD, AuditEntry, ChainedEnrollment, ChainHead, canonical, chain_hash
from engine.storage.direct import DirectStatement
from engine.storage.tables import audit_events, enrollments

_ATTEMPTS = 5  # a chain that moved under us this often is hot enough to give up and say so

_ENTRY_FIELDS: Final = tuple(f.name for f in fields(AuditEntry))
# A prepared row's keys, in the order of its values when a batch keeps it as values (`row_values`, `write_values`).
AUDIT_ROW_KEYS: Final = (*_ENTRY_FIELDS, "seq", "prev_hash", "hash")
_INSERT_EVENT: Final = DirectStatement(insert(audit_events), AUDIT_ROW_KEYS)
SEQ_AT: Final = AUDIT_ROW_KEYS.index("seq")  # where a row's seq and hash are among its values
HASH_AT: Final = AUDIT_ROW_KEYS.index("hash")
_VALUES: Final = itemgetter(*AUDIT_ROW_KEYS)
_CLAIM: Final = DirectStatement(update(enrollments).where(
    (enrollments.c.id == bindparam("b_id")) & (enrollments.c.audit_seq == bindparam("b_seq"))).values(
    audit_seq=bindparam("b_next"), audit_head=bindparam("b_head")))
_TIP: Final = DirectStatement(select(
    enrollments.c.id, enrollments.c.patient_id, enrollments.c.household_id, enrollments.c.state,
    enrollments.c.audit_seq, enrollments.c.audit_head).where(enrollments.c.id == bindparam("b_id")))


class ChainMoved(Exception):
    """Another transaction appended to the same chain first."""


@dataclass(frozen=True, slots=True)
class ChainTip:
    """What an enrollment's next audit row needs of it: its subject, state and chain head."""

    id: str
    patient_id: str | None
    household_id: str | None
    state: str
    audit_seq: int
    audit_head: str


Prepared = list[dict[str, Any]]


def prepare(entries: Sequence[AuditEntry], head: ChainHead) -> tuple[Prepared, ChainHead]:
    """Hash entries after `head` once, in memory: the rows to write and the chain's new head.

    A transition needs the new head before it writes (it goes into the same UPDATE that moves the enrollment),
    and a new enrollment's row carries its first head: so hashing and writing are two steps; each entry is hashed
    exactly once.
    """
    rows: Prepared = []
    for entry in entries:
        seq = head.seq + 1
        new_hash = chain_hash(head.hash, canonical(entry, seq))
        row: dict[str, Any] = dict(entry.__dict__)
        row.update(seq=seq, prev_hash=head.hash, hash=new_hash)
        rows.append(row)
        head = ChainHead(seq, new_hash)
    return rows, head


def write(conn: Connection, rows: Prepared) -> None:
    """Insert prepared rows with one prebuilt statement (`inputs` None is SQL NULL: the column is none_as_null)."""
    if rows:
        _INSERT_EVENT.execute_many(conn, rows)


def row_values(rows: Prepared) -> list[tuple[Any, ...]]:
    """Prepared rows as their values in `AUDIT_ROW_KEYS` order, for a batch that writes them with `write_values`."""
    return [_VALUES(row) for row in rows]


def write_values(conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
    """`write` of rows given as their values in `AUDIT_ROW_KEYS` order (a batch's: no dict per row)."""
    _INSERT_EVENT.execute_many_values(conn, AUDIT_ROW_KEYS, rows)


def append_to_enrollment(conn: Connection, tip: ChainedEnrollment, entries: Sequence[AuditEntry]) -> ChainHead:
    """Append after the head read in `tip`, without moving the enrollment, in the caller's transaction.

    The head update is guarded by the head's seq, so two concurrent appends never claim the same position: the
    loser gets `ChainMoved` and has written nothing.
    """
    rows, head = prepare(entries, ChainHead(tip.audit_seq, tip.audit_head))
    if _CLAIM.execute(conn, {"b_id": tip.id, "b_seq": tip.audit_seq, "b_next": head.seq, "b_head": head.hash}) != 1:
        raise ChainMoved(tip.id)
    write(conn, rows)
    return head


def enrollment_tip(conn: Connection, enrollment_id: str) -> ChainTip | None:
    row = _TIP.first(conn, {"b_id": enrollment_id})
    return None if row is None else ChainTip(*row)


def note(conn: Connection, enrollment_id: str, build: Callable[[ChainTip], AuditEntry]) -> bool:
    """Record one entry about an enrollment in the caller's transaction, built from its current tip.

    When another transaction appended first the tip is read again (each try writes nothing until it wins). False
    when there is no such enrollment (nothing to record it on).
    """
    for _ in range(_ATTEMPTS):
        tip = enrollment_tip(conn, enrollment_id)
        if tip is None:
            return False
        try:
            append_to_enrollment(conn, tip, [build(tip)])
        except ChainMoved:
            continue
        return True
    raise ChainMoved(enrollment_id)


def note_apart(db: Engine, enrollment_id: str, build: Callable[[ChainTip], AuditEntry]) -> None:
    """`note` in a transaction of its own: a refused attempt is history even though its own work rolled back."""
    with db.begin() as conn:
        note(conn, enrollment_id, build)


def append_to_subject(conn: Connection, entry: AuditEntry) -> ChainHead:
    """Append to a chain that is not an enrollment's ("patient:p1", "staff:u1"): read its head, insert, and try
    again when a concurrent writer took that position first."""
    attempt = 0
    while True:
        attempt += 1
        head = _stored_head(conn, entry.chain)
        rows, new_head = prepare([entry], head)
        try:
            with _undo_on_failure(conn):
                write(conn, rows)
                return new_head
        except IntegrityError:
            if attempt >= _ATTEMPTS:
                raise


def _stored_head(conn: Connection, chain: str) -> ChainHead:
    """The chain's newest stored row, read from the table (for chains whose head is kept nowhere else)."""
    row = conn.execute(
        select(audit_events.c.seq, audit_events.c.hash)
        .where(audit_events.c.chain == chain)
        .order_by(audit_events.c.seq.desc())
        .limit(1)
    ).first()
    return GENESIS_HEAD if row is None else ChainHead(row.seq, row.hash)


def _undo_on_failure(conn: Connection) -> AbstractContextManager[object]:
    # PostgreSQL aborts the whole transaction on a failed INSERT unless it ran in a savepoint. SQLite undoes only
    # the failed statement, and pysqlite's SAVEPOINT outside an explicit BEGIN would commit the caller's work early.
    return nullcontext() if conn.dialect.name == "sqlite" else conn.begin_nested()
