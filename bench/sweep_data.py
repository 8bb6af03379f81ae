"""The sweep benchmark's data: N stored enrollments with a pending expiry timer each, D of them due; the checks.

Two layouts of the same rows:
- `realistic`: as the engine stores them now. Enrollments were issued one after another over 30 days, with
  time-ordered ids (UUIDv7, `engine.ids`), their timers armed in the same order; the D due are the D issued first
  (expiries fall due together, as real ones do: 30 days after their PINs were issued, within the last 10 minutes).
- `scattered`: the worst case, as rows made before time-ordered ids are: random ids (uuid4 hex) and every
  (N/D)-th timer due, so that neither the sweep nor the baseline gets neighbouring rows.
Seeding is set-based and untimed. On PostgreSQL it is INSERT .. SELECT over generate_series; on SQLite, executemany
of statements compiled once with the engine's own type processors (`engine.storage.direct`), so stored values have
exactly the engine's types. Each enrollment starts with an empty audit chain (seq 0, the genesis head), which is
what `audit verify` accepts for a chain whose first row is the expiry.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, text

from bench.workflow import EXPIRED_STATE, EXPIRY_STATE, EXPIRY_TIMER, EXPIRY_WORKFLOW_ID
from engine.audit.entry import GENESIS
from engine.ids import new_id
from engine.storage.direct import DirectStatement
from engine.storage.tables import audit_events, enrollments, patients, sites, timers, workflow_versions

LAYOUTS = ("realistic", "scattered")
_CHUNK = 20_000
_DUE_WITHIN = 600  # seconds: the due timers fell due during the last ten minutes
_LIFETIME = timedelta(days=30)  # a PIN's, between issue and expiry
_PATIENT_COLUMNS = ("id", "site_id", "given_name", "family_name", "birth_date", "email", "email_confirmed_personal",
                    "name_is_placeholder", "portal_access_enabled")
_ENROLLMENT_COLUMNS = ("id", "workflow_id", "workflow_version", "content_hash", "patient_id", "household_id", "site_id",
                       "state", "version", "selected_children", "audit_seq", "audit_head", "started_at", "updated_at")
_TIMER_COLUMNS = ("enrollment_id", "timer_id", "trigger", "status", "armed_at", "due_at", "attempts")
_INSERT_PATIENT = DirectStatement(insert(patients), _PATIENT_COLUMNS)
_INSERT_ENROLLMENT = DirectStatement(insert(enrollments), _ENROLLMENT_COLUMNS)
_INSERT_TIMER = DirectStatement(insert(timers), _TIMER_COLUMNS)


def seed(db: Engine, stored: int, due: int, now: datetime, layout: str = "realistic") -> None:
    """`stored` patients and enrollments in 'issued', each with a pending expiry timer, `due` of them due."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}")
    with db.begin() as conn:
        content_hash = conn.execute(select(workflow_versions.c.content_hash).where(
            workflow_versions.c.workflow_id == EXPIRY_WORKFLOW_ID)).scalar_one()
        conn.execute(insert(sites).values(id="main", name="Bench Practice", timezone="America/New_York",
                                          portal_url="https://portal.example.test", phone="(617) 555-0100",
                                          specialist_office=False))
        if conn.dialect.name == "postgresql":
            _seed_postgres(conn, stored, due, now, content_hash, layout)
        else:
            _seed_rows(conn, stored, due, now, content_hash, layout)
    if db.dialect.name == "postgresql":  # these tables only: a bare ANALYZE visits every schema, others' included
        with db.begin() as conn:  # committed: ANALYZE in a transaction that rolls back leaves no statistics
            conn.execute(text("ANALYZE patients, enrollments, timers"))


def _every(stored: int, due: int) -> int:
    return max(1, stored // max(1, due))


def _is_due(i: int, stored: int, due: int) -> bool:
    every = _every(stored, due)
    return i % every == 0 and i // every < due


def due_at(i: int, stored: int, due: int, now: datetime, layout: str) -> datetime:
    """When timer `i` falls due: the realistic layout's first `due` fell due in order during the last ten minutes
    and the others fall due over the next 29 days; the scattered layout's due ones are every (stored/due)-th."""
    if layout == "scattered":
        return (now - timedelta(seconds=1 + i % _DUE_WITHIN) if _is_due(i, stored, due)
                else now + timedelta(days=1 + i % 29))
    if i < due:
        return now - timedelta(seconds=_DUE_WITHIN * (due - i) / due)
    return now + timedelta(days=1) + timedelta(days=28) * ((i - due) / max(1, stored - due))


def _seed_rows(conn: Connection, stored: int, due: int, now: datetime, content_hash: str, layout: str) -> None:
    for first in range(0, stored, _CHUNK):
        numbers = range(first, min(stored, first + _CHUNK))
        made = list(_made(numbers, stored, due, now, layout))
        _INSERT_PATIENT.execute_many(conn, [
            {"id": f"p{i:08d}", "site_id": "main", "given_name": "Pat", "family_name": f"Bench{i}",
             "birth_date": date(1980, 1, 1), "email": None, "email_confirmed_personal": False,
             "name_is_placeholder": False, "portal_access_enabled": False} for i, _, _, _ in made])
        _INSERT_ENROLLMENT.execute_many(conn, [
            {"id": eid, "workflow_id": EXPIRY_WORKFLOW_ID, "workflow_version": 1, "content_hash": content_hash,
             "patient_id": f"p{i:08d}", "household_id": None, "site_id": "main", "state": EXPIRY_STATE, "version": 1,
             "selected_children": None, "audit_seq": 0, "audit_head": GENESIS, "started_at": issued,
             "updated_at": issued} for i, eid, issued, _ in made])
        _INSERT_TIMER.execute_many(conn, [
            {"enrollment_id": eid, "timer_id": EXPIRY_TIMER, "trigger": EXPIRY_TIMER, "status": "pending",
             "armed_at": issued, "due_at": when, "attempts": 0} for _, eid, issued, when in made])


def _made(numbers: range, stored: int, due: int, now: datetime,
          layout: str) -> Iterator[tuple[int, str, datetime, datetime]]:
    """(number, enrollment id, issued at, timer due at) per enrollment."""
    for i in numbers:
        when = due_at(i, stored, due, now, layout)
        if layout == "scattered":
            yield i, uuid.uuid4().hex, now - _LIFETIME, when
        else:
            issued = when - _LIFETIME
            yield i, new_id(at_ms=int(issued.timestamp() * 1000)), issued, when


def _seed_postgres(conn: Connection, stored: int, due: int, now: datetime, content_hash: str, layout: str) -> None:
    params: dict[str, Any] = {
        "n": stored - 1, "now": now, "issued": now - _LIFETIME, "hash": content_hash, "wf": EXPIRY_WORKFLOW_ID,
        "state": EXPIRY_STATE, "genesis": GENESIS, "every": _every(stored, due), "due": due, "timer": EXPIRY_TIMER,
        "within": _DUE_WITHIN, "later": max(1, stored - due), "lifetime": f"{_LIFETIME.days} days"}
    if layout == "scattered":
        conn.execute(text(
            "CREATE TEMPORARY TABLE bench_ids ON COMMIT DROP AS SELECT g AS i, md5(random()::text || g::text) AS eid, "
            "CAST(:issued AS timestamptz) AS issued, CASE WHEN g % :every = 0 AND g / :every < :due "
            "THEN CAST(:now AS timestamptz) - (1 + g % 600) * INTERVAL '1 second' "
            "ELSE CAST(:now AS timestamptz) + (1 + g % 29) * INTERVAL '1 day' END AS due_at "
            "FROM generate_series(0, :n) AS g"), params)
    else:  # UUIDv7 as `engine.ids` makes it: 48-bit milliseconds, version 7, random, variant 10, random
        conn.execute(text(
            "CREATE TEMPORARY TABLE bench_times ON COMMIT DROP AS SELECT g AS i, CASE WHEN g < :due "
            "THEN CAST(:now AS timestamptz) - (:within * (:due - g)::float8 / :due) * INTERVAL '1 second' "
            "ELSE CAST(:now AS timestamptz) + INTERVAL '1 day' + (28 * 86400 * (g - :due)::float8 / :later) "
            "* INTERVAL '1 second' END AS due_at FROM generate_series(0, :n) AS g"), params)
        conn.execute(text(
            "CREATE TEMPORARY TABLE bench_ids ON COMMIT DROP AS SELECT i, due_at, "
            "due_at - CAST(:lifetime AS interval) AS issued, "
            "lpad(to_hex(floor(extract(epoch FROM due_at - CAST(:lifetime AS interval)) * 1000)::bigint), 12, '0') "
            "|| '7' || substr(md5(random()::text), 1, 3) || substr('89ab', 1 + floor(random() * 4)::int, 1) "
            "|| substr(md5(random()::text), 1, 15) AS eid FROM bench_times ORDER BY i"), params)
    conn.execute(text(
        "INSERT INTO patients (id, site_id, given_name, family_name, name_is_placeholder, birth_date, "
        "email_confirmed_personal, portal_access_enabled) SELECT 'p' || lpad(i::text, 8, '0'), 'main', 'Pat', "
        "'Bench' || i, false, DATE '1980-01-01', false, false FROM bench_ids ORDER BY i"), params)
    conn.execute(text(
        "INSERT INTO enrollments (id, workflow_id, workflow_version, content_hash, patient_id, site_id, state, "
        "version, audit_seq, audit_head, started_at, updated_at) SELECT eid, :wf, 1, :hash, "
        "'p' || lpad(i::text, 8, '0'), 'main', :state, 1, 0, :genesis, issued, issued FROM bench_ids ORDER BY i"),
        params)
    conn.execute(text(
        "INSERT INTO timers (enrollment_id, timer_id, \"trigger\", status, armed_at, due_at, attempts) "
        "SELECT eid, :timer, :timer, 'pending', issued, due_at, 0 FROM bench_ids ORDER BY i"), params)


def baseline(conn: Connection, now: datetime) -> int:
    """The set-based floor: one INSERT .. SELECT of the audit rows, then UPDATEs of the enrollments and timers.

    It writes what the engine writes per expiry (an audit row, the enrollment moved with its chain head, the timer
    settled) but in three statements for all due timers. Its audit hash is a constant: SQL cannot chain sha256.
    """
    due = "SELECT enrollment_id FROM timers WHERE status = 'pending' AND due_at <= :now"
    params = {"now": now, "to": EXPIRED_STATE, "hash": "f" * 64}
    inserted = conn.execute(text(
        "INSERT INTO audit_events (chain, seq, prev_hash, hash, at, actor_id, actor_role, action, subject_type, "
        "subject_id, enrollment_id, from_state, to_state, \"trigger\", reason, outcome) "
        "SELECT e.id, e.audit_seq + 1, e.audit_head, :hash, :now, 'system', 'system', 'transition', 'patient', "
        "e.patient_id, e.id, e.state, :to, t.\"trigger\", 'timer expire', 'ok' "
        "FROM timers t JOIN enrollments e ON e.id = t.enrollment_id "
        "WHERE t.status = 'pending' AND t.due_at <= :now"), params).rowcount
    conn.execute(text(f"UPDATE enrollments SET state = :to, version = version + 1, audit_seq = audit_seq + 1, "
                      f"audit_head = :hash, updated_at = :now WHERE id IN ({due})"), params)
    conn.execute(text("UPDATE timers SET status = 'fired', settled_at = :now "
                      "WHERE status = 'pending' AND due_at <= :now"), params)
    return int(inserted)


@dataclass(frozen=True)
class Outcome:
    """What a run left behind: the figures that say it did exactly the work, once."""

    expired: int  # enrollments now in 'expired'
    duplicates: int  # enrollments with more than one expiry in their history
    missed: int  # due timers still pending
    early: int  # timers not yet due that were touched

    def exact(self, due: int) -> bool:
        return self.expired == due and self.duplicates == 0 and self.missed == 0 and self.early == 0

    def __str__(self) -> str:
        return (f"{self.expired} expired, duplicates {self.duplicates}, missed {self.missed}, "
                f"fired early {self.early}")


def outcome(db: Engine, now: datetime) -> Outcome:
    with db.connect() as conn:
        expired = conn.execute(select(func.count()).select_from(enrollments).where(
            enrollments.c.state == EXPIRED_STATE)).scalar_one()
        per_enrollment = select(audit_events.c.enrollment_id).where(
            (audit_events.c.action == "transition") & (audit_events.c.outcome == "ok")).group_by(
            audit_events.c.enrollment_id).having(func.count() > 1).subquery()
        duplicates = conn.execute(select(func.count()).select_from(per_enrollment)).scalar_one()
        missed = conn.execute(select(func.count()).select_from(timers).where(
            (timers.c.status == "pending") & (timers.c.due_at <= now))).scalar_one()
        early = conn.execute(select(func.count()).select_from(timers).where(
            (timers.c.status != "pending") & (timers.c.due_at > now))).scalar_one()
    return Outcome(int(expired), int(duplicates), int(missed), int(early))
