"""The sweep benchmark's data: N stored enrollments with a pending expiry timer each, D of them due; the checks.

Seeding is set-based and untimed. On PostgreSQL it is INSERT .. SELECT over generate_series; on SQLite, batched
executemany through SQLAlchemy Core (so stored values have exactly the engine's types). Enrollment ids are random
(uuid4 hex, as the engine makes them) and the due timers are spread among the others, so neither side gets
neighbouring rows for free. Each enrollment starts with an empty audit chain (seq 0, the genesis head), which is what
`audit verify` accepts for a chain whose first row is the expiry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, Engine, func, insert, select, text

from bench.workflow import EXPIRED_STATE, EXPIRY_STATE, EXPIRY_TIMER, EXPIRY_WORKFLOW_ID
from engine.audit.entry import GENESIS
from engine.storage.tables import audit_events, enrollments, patients, sites, timers, workflow_versions

_CHUNK = 20_000


def seed(db: Engine, stored: int, due: int, now: datetime) -> None:
    """`stored` patients and enrollments in 'issued', each with a pending expiry timer; every (stored/due)-th is due."""
    with db.begin() as conn:
        content_hash = conn.execute(select(workflow_versions.c.content_hash).where(
            workflow_versions.c.workflow_id == EXPIRY_WORKFLOW_ID)).scalar_one()
        conn.execute(insert(sites).values(id="main", name="Bench Practice", timezone="America/New_York",
                                          portal_url="https://portal.example.test", phone="(617) 555-0100",
                                          specialist_office=False))
        if conn.dialect.name == "postgresql":
            _seed_postgres(conn, stored, due, now, content_hash)
        else:
            _seed_rows(conn, stored, due, now, content_hash)
    if db.dialect.name == "postgresql":
        with db.connect() as conn:
            conn.execute(text("ANALYZE"))


def _every(stored: int, due: int) -> int:
    return max(1, stored // max(1, due))


def _is_due(i: int, stored: int, due: int) -> bool:
    every = _every(stored, due)
    return i % every == 0 and i // every < due


def _seed_rows(conn: Connection, stored: int, due: int, now: datetime, content_hash: str) -> None:
    issued = now - timedelta(days=30)
    for first in range(0, stored, _CHUNK):
        numbers = range(first, min(stored, first + _CHUNK))
        ids = [uuid.uuid4().hex for _ in numbers]
        conn.execute(insert(patients), [
            {"id": f"p{i:08d}", "site_id": "main", "given_name": "Pat", "family_name": f"Bench{i}",
             "birth_date": date(1980, 1, 1), "email": None, "email_confirmed_personal": False,
             "name_is_placeholder": False, "portal_access_enabled": False} for i in numbers])
        conn.execute(insert(enrollments), [
            {"id": eid, "workflow_id": EXPIRY_WORKFLOW_ID, "workflow_version": 1, "content_hash": content_hash,
             "patient_id": f"p{i:08d}", "household_id": None, "state": EXPIRY_STATE, "version": 1,
             "selected_children": None, "audit_seq": 0, "audit_head": GENESIS, "started_at": issued,
             "updated_at": issued} for i, eid in zip(numbers, ids, strict=True)])
        conn.execute(insert(timers), [
            {"enrollment_id": eid, "timer_id": EXPIRY_TIMER, "trigger": EXPIRY_TIMER, "status": "pending",
             "armed_at": issued, "attempts": 0,
             "due_at": now - timedelta(seconds=1 + i % 600) if _is_due(i, stored, due)
             else now + timedelta(days=1 + i % 29)} for i, eid in zip(numbers, ids, strict=True)])


def _seed_postgres(conn: Connection, stored: int, due: int, now: datetime, content_hash: str) -> None:
    every = _every(stored, due)
    params = {"n": stored - 1, "now": now, "issued": now - timedelta(days=30), "hash": content_hash,
              "wf": EXPIRY_WORKFLOW_ID, "state": EXPIRY_STATE, "genesis": GENESIS, "every": every, "due": due,
              "timer": EXPIRY_TIMER}
    conn.execute(text("CREATE TEMPORARY TABLE bench_ids ON COMMIT DROP AS SELECT g AS i, "
                      "md5(random()::text || g::text) AS eid FROM generate_series(0, :n) AS g"), params)
    conn.execute(text(
        "INSERT INTO patients (id, site_id, given_name, family_name, name_is_placeholder, birth_date, "
        "email_confirmed_personal, portal_access_enabled) SELECT 'p' || lpad(i::text, 8, '0'), 'main', 'Pat', "
        "'Bench' || i, false, DATE '1980-01-01', false, false FROM bench_ids"), params)
    conn.execute(text(
        "INSERT INTO enrollments (id, workflow_id, workflow_version, content_hash, patient_id, state, version, "
        "audit_seq, audit_head, started_at, updated_at) SELECT eid, :wf, 1, :hash, 'p' || lpad(i::text, 8, '0'), "
        ":state, 1, 0, :genesis, :issued, :issued FROM bench_ids"), params)
    conn.execute(text(
        "INSERT INTO timers (enrollment_id, timer_id, \"trigger\", status, armed_at, due_at, attempts) "
        "SELECT eid, :timer, :timer, 'pending', :issued, CASE WHEN i % :every = 0 AND i / :every < :due "
        "THEN CAST(:now AS timestamptz) - (1 + i % 600) * INTERVAL '1 second' "
        "ELSE CAST(:now AS timestamptz) + (1 + i % 29) * INTERVAL '1 day' END, 0 FROM bench_ids"), params)


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
