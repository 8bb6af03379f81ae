"""Reading the audit trail for auditors: the history of a patient, an enrollment, a household or a staff user.

`find_history` answers one page of a question (filters combine with AND, oldest first, `after_id` as the cursor);
`iter_history` (on one connection) and `stream_history` (a short transaction per page) walk every matching row
page by page, so an export of a large range never holds it all in memory.
Rows come back as `AuditRecord`s with aware UTC times: SQLite hands back naive ones, everything stored is UTC.

A patient's history is everything that concerned the patient: rows whose subject is the patient, rows of the
patient's own enrollments, and, for every household the patient belongs to, rows whose subject is that household
and rows of its enrollments. Household enrollments are included whole, whether or not the child was among the
selected ones: an auditor asking about a child also needs to see that the child was left out. Membership is read
from `household_members` as it is now; the table keeps no history of who belonged when. A household's history
is the rows about it and its enrollments (not its members' own enrollments); an enrollment's is its chain; a staff
user's is what they did (`actor_id`).

Enrollment rows are found by chain (an enrollment's rows form the chain keyed by its id,
`engine.audit.entry.chain_key`), because `(chain, seq)` is indexed and `enrollment_id` is not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, Final

from sqlalchemy import Connection, Engine, Select, and_, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.sql.elements import ColumnElement

from engine.audit.entry import OUTCOMES
from engine.clock import as_utc
from engine.errors import InvalidInput
from engine.storage.tables import audit_events, enrollments, household_members, households, patients

MAX_LIMIT: Final = 1000
DEFAULT_LIMIT: Final = 100
EXPORT_PAGE: Final = 500  # rows per query while streaming: big enough to be cheap, small enough to stay lean


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """What an auditor asks for; every filter is optional and they combine with AND.

    `since` is inclusive and `until` exclusive (both timezone-aware); `after_id` is the paging cursor (the id of
    the last row already seen); `limit` is the page size, 1 to 1000.
    """

    enrollment_id: str | None = None
    patient_id: str | None = None
    household_id: str | None = None
    actor_id: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after_id: int = 0
    limit: int = DEFAULT_LIMIT
    sites: frozenset[str] | None = None  # the reader's walls: only rows about subjects at these sites


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One stored audit row as read back: `at` is aware UTC; `inputs` has secrets already redacted."""

    id: int
    chain: str
    seq: int
    at: datetime
    actor_id: str
    actor_role: str
    action: str
    outcome: str
    subject_type: str | None
    subject_id: str | None
    enrollment_id: str | None
    from_state: str | None
    to_state: str | None
    trigger: str | None
    inputs: dict[str, Any] | None
    reason: str | None
    detail: str | None
    hash: str
    prev_hash: str


RECORD_FIELDS: Final = tuple(f.name for f in fields(AuditRecord))
_COLUMNS: Final = tuple(audit_events.c[name] for name in RECORD_FIELDS)


MAX_ROW_ID = 2**63 - 1  # both databases' largest integer key


def find_history(conn: Connection, query: HistoryQuery) -> list[AuditRecord]:
    """At most `query.limit` matching rows with ids above `query.after_id`, oldest (lowest id) first."""
    _check(query)
    statement = _matching(query).where(audit_events.c.id > query.after_id).limit(query.limit)
    return [_record(row) for row in conn.execute(statement).mappings()]


def iter_history(conn: Connection, query: HistoryQuery, *, page_size: int = EXPORT_PAGE) -> Iterator[AuditRecord]:
    """Every matching row above `query.after_id`, oldest first, `page_size` rows per SELECT; `query.limit` is ignored.

    All pages are read on `conn`, in its transaction: on PostgreSQL, inside one REPEATABLE READ transaction the
    pages form one snapshot. On SQLite every PortalFlow transaction starts with BEGIN IMMEDIATE, so writers wait
    until `conn` ends: to stream to a slow reader (an HTTP download), use `stream_history`.
    The query is checked now, before the first row is asked for, so an API can answer a bad request with an error
    rather than a stream that breaks off.
    """
    return _pages(partial(find_history, conn), _paging(query, page_size))


def stream_history(db: Engine, query: HistoryQuery, *, page_size: int = EXPORT_PAGE) -> Iterator[AuditRecord]:
    """Like `iter_history`, but each page in its own short transaction: no lock is held between pages.

    Pages are not one snapshot. Rows only ever get added, so what a reader can miss is a row committed during the
    export with an id below the cursor: on PostgreSQL ids are taken before commit, so a slow writer can do that;
    on SQLite a row is numbered when it is written, so it cannot.
    """
    return _pages(partial(_page_on_own_connection, db), _paging(query, page_size))


def _paging(query: HistoryQuery, page_size: int) -> HistoryQuery:
    if not 1 <= page_size <= MAX_LIMIT:
        raise InvalidInput("page_size", f"must be between 1 and {MAX_LIMIT}")
    paging = replace(query, limit=page_size)
    _check(paging)
    return paging


def _pages(read: Callable[[HistoryQuery], list[AuditRecord]], query: HistoryQuery) -> Iterator[AuditRecord]:
    while True:
        page = read(query)
        yield from page
        if len(page) < query.limit:
            return
        query = replace(query, after_id=page[-1].id)


def _page_on_own_connection(db: Engine, query: HistoryQuery) -> list[AuditRecord]:
    with db.connect() as conn:
        return find_history(conn, query)


def _check(query: HistoryQuery) -> None:
    for name in ("since", "until"):
        moment = getattr(query, name)
        if moment is not None and (moment.tzinfo is None or moment.utcoffset() is None):
            raise InvalidInput(name, "must include a UTC offset (a timezone-aware time)")
        if moment is not None:
            try:
                moment.astimezone(UTC)
            except OverflowError:  # 0001-01-01T00:00+14:00 is before the first representable UTC moment
                raise InvalidInput(name, "is outside the years 1 to 9999 in UTC") from None
    if query.since is not None and query.until is not None and query.since >= query.until:
        raise InvalidInput("since", "must be earlier than until")
    if query.outcome is not None and query.outcome not in OUTCOMES:  # a typo would otherwise just find nothing
        raise InvalidInput("outcome", f"must be one of {', '.join(sorted(OUTCOMES))}")
    if not 1 <= query.limit <= MAX_LIMIT:
        raise InvalidInput("limit", f"must be between 1 and {MAX_LIMIT}")
    if not 0 <= query.after_id <= MAX_ROW_ID:
        raise InvalidInput("after_id", "must be 0 or a row id (a 64-bit integer)")


def _matching(query: HistoryQuery) -> Select[Any]:
    return select(*_COLUMNS).where(*_about(query), *_what_and_when(query)).order_by(audit_events.c.id)


def _about(query: HistoryQuery) -> list[ColumnElement[bool]]:
    """Conditions on whom the rows concern: the enrollment, the patient, the household, the acting user."""
    conditions: list[ColumnElement[bool]] = []
    if query.enrollment_id is not None:
        conditions.append(_in_enrollment(query.enrollment_id))
    if query.patient_id is not None:
        conditions.append(_concerning_patient(query.patient_id))
    if query.household_id is not None:
        conditions.append(_concerning_households([query.household_id]))
    if query.actor_id is not None:
        conditions.append(audit_events.c.actor_id == query.actor_id)
    if query.sites is not None:
        conditions.append(_at_sites(sorted(query.sites)))
    return conditions


def _at_sites(site_ids: list[str]) -> ColumnElement[bool]:
    """Rows about a patient, household or site at these sites, and rows of their enrollments: nothing else (not
    the staff users' own chains, nor the global one), so a reader kept to some sites learns nothing beyond them."""
    at_patients = select(patients.c.id).where(patients.c.site_id.in_(site_ids))
    at_households = select(households.c.id).where(households.c.site_id.in_(site_ids))
    their_enrollments = select(enrollments.c.id).where(
        enrollments.c.patient_id.in_(at_patients) | enrollments.c.household_id.in_(at_households))
    return or_(
        and_(audit_events.c.subject_type == "patient", audit_events.c.subject_id.in_(at_patients)),
        and_(audit_events.c.subject_type == "household", audit_events.c.subject_id.in_(at_households)),
        and_(audit_events.c.subject_type == "site", audit_events.c.subject_id.in_(site_ids)),
        audit_events.c.chain.in_(their_enrollments),
    )


def _what_and_when(query: HistoryQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.action is not None:
        conditions.append(audit_events.c.action == query.action)
    if query.outcome is not None:
        conditions.append(audit_events.c.outcome == query.outcome)
    # SQLite stores times as UTC text and compares them as text: bind UTC too, never another offset.
    if query.since is not None:
        conditions.append(audit_events.c.at >= query.since.astimezone(UTC))
    if query.until is not None:
        conditions.append(audit_events.c.at < query.until.astimezone(UTC))
    return conditions


def _in_enrollment(enrollment_id: str) -> ColumnElement[bool]:
    # The chain predicate uses the (chain, seq) index; the enrollment_id one states what is meant.
    return and_(audit_events.c.chain == enrollment_id, audit_events.c.enrollment_id == enrollment_id)


def _concerning_patient(patient_id: str) -> ColumnElement[bool]:
    households_of_patient = select(household_members.c.household_id).where(
        household_members.c.patient_id == patient_id)
    own_enrollments = select(enrollments.c.id).where(enrollments.c.patient_id == patient_id)
    return or_(
        _subject("patient", patient_id),
        audit_events.c.chain.in_(own_enrollments),
        _concerning_households(households_of_patient),
    )


def _concerning_households(household_ids: Select[Any] | list[str]) -> ColumnElement[bool]:
    """Rows about the households (given as ids or as a subquery) and rows of their enrollments."""
    household_enrollments = select(enrollments.c.id).where(enrollments.c.household_id.in_(household_ids))
    return or_(
        and_(audit_events.c.subject_type == "household", audit_events.c.subject_id.in_(household_ids)),
        audit_events.c.chain.in_(household_enrollments),
    )


def _subject(subject_type: str, subject_id: str) -> ColumnElement[bool]:
    return and_(audit_events.c.subject_type == subject_type, audit_events.c.subject_id == subject_id)


def _record(row: RowMapping) -> AuditRecord:
    values = {name: row[name] for name in RECORD_FIELDS}
    values["at"] = as_utc(values["at"])
    return AuditRecord(**values)
