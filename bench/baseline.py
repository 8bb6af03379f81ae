"""The baseline: the same writes per commit as the engine's transition, in raw SQL, with the same SQLite settings.

Per commit: BEGIN IMMEDIATE; one UPDATE of the enrollment row (state, version, audit head, updated_at, with the same
optimistic `WHERE id = ? AND version = ?`); one INSERT of an audit row with a sha256 chained to the previous head;
COMMIT. Same schema (the engine's tables and indexes, created by `engine.storage.migrations.upgrade`), same
connection settings (`engine.storage.database.make_engine`: WAL, synchronous=FULL, foreign keys, busy timeout),
and the tables start with the same rows as the engine's (one enrollment and one audit row per enrollment).
It skips what the engine does beyond the writes: the read of the enrollment, the state machine, building the audit
entry and its canonical JSON, SQLAlchemy statement compilation and result processing.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, insert, update

from bench.engine_run import STAFF, Pass, Probe, seed
from bench.memory import Samples
from bench.workflow import TRIGGER, WORKFLOW_ID
from engine.ids import new_id
from engine.storage.database import make_engine
from engine.storage.migrations import upgrade
from engine.storage.tables import audit_events, enrollments

GENESIS = "0" * 64

_UPDATE = ("UPDATE enrollments SET state = ?, version = ?, audit_seq = ?, audit_head = ?, updated_at = ? "
           "WHERE id = ? AND version = ?")
_INSERT = ("INSERT INTO audit_events (chain, seq, prev_hash, hash, at, actor_id, actor_role, action, subject_type, "
           "subject_id, enrollment_id, from_state, to_state, \"trigger\", inputs, reason, outcome, detail) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _stamp() -> str:
    return datetime.now(UTC).isoformat(sep=" ")


@dataclass
class BaselineSetup:
    db: Engine
    rows: list[tuple[str, str, str]]  # enrollment id, patient id, audit head

    @classmethod
    def create(cls, folder: Path, n: int) -> BaselineSetup:
        folder.mkdir(parents=True, exist_ok=True)
        db = make_engine(f"sqlite:///{folder / 'baseline.db'}")
        upgrade(db)
        patient_ids = seed(db, n)
        now = _stamp()
        # Ids as the engine makes them (`engine.ids.new_id`, time-ordered), each a millisecond after the last as when
        # the engine starts them one by one, and advanced in the order made: ids of another kind would put each
        # commit's writes on other B-tree pages than the engine's, and flatter or burden the baseline.
        first_ms = time.time_ns() // 1_000_000 - len(patient_ids)
        rows = [(new_id(first_ms + i), pid, hashlib.sha256(pid.encode()).hexdigest())
                for i, pid in enumerate(patient_ids)]
        raw = db.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(
                "INSERT INTO enrollments (id, workflow_id, workflow_version, content_hash, patient_id, site_id, "
                "state, version, audit_seq, audit_head, started_at, updated_at) "
                "VALUES (?, ?, 1, ?, ?, 'main', 'a', 1, 1, ?, ?, ?)",
                [(eid, WORKFLOW_ID, "0" * 64, pid, head, now, now) for eid, pid, head in rows])
            cursor.executemany(_INSERT, [
                (eid, 1, GENESIS, head, now, STAFF.id, STAFF.role, "enrollment_started", "patient", pid, eid,
                 None, "a", None, None, None, "ok", f"{WORKFLOW_ID} v1") for eid, pid, head in rows])
            cursor.execute("COMMIT")
            cursor.close()
        finally:
            raw.close()
        return cls(db, rows)

    def advance_all(self, probe: Probe | None = None) -> Pass:
        quarter = max(1, len(self.rows) // 4)
        samples = Samples()
        paused = 0.0
        raw: Any = self.db.raw_connection()
        try:
            cursor = raw.cursor()
            began = time.perf_counter()
            for done, (eid, pid, head) in enumerate(self.rows, 1):
                now = _stamp()
                new_hash = hashlib.sha256(f"{head}\n{eid}|2|{now}|{TRIGGER}".encode()).hexdigest()
                cursor.execute("BEGIN IMMEDIATE")
                cursor.execute(_UPDATE, ("b", 2, 2, new_hash, now, eid, 1))
                if cursor.rowcount != 1:
                    raise SystemExit(f"baseline lost its row {eid}")
                cursor.execute(_INSERT, (eid, 2, head, new_hash, now, STAFF.id, STAFF.role, "transition",
                                         "patient", pid, eid, "a", "b", TRIGGER, None, None, "ok", None))
                cursor.execute("COMMIT")
                if probe is not None and done == quarter:
                    mark = time.perf_counter()
                    samples.quarter = probe()
                    paused += time.perf_counter() - mark
            elapsed = time.perf_counter() - began - paused
            cursor.close()
        finally:
            raw.close()
        if probe is not None:
            samples.full = probe()
        return Pass(len(self.rows), elapsed, samples)

    def advance_all_core(self, probe: Probe | None = None) -> Pass:
        """The same writes through SQLAlchemy Core, statements built once with bind parameters (informational:
        what the engine's writes could cost without rebuilding statements per call)."""
        moved = update(enrollments).where(
            (enrollments.c.id == bindparam("eid")) & (enrollments.c.version == bindparam("old"))).values(
            state=bindparam("state"), version=bindparam("new"), audit_seq=bindparam("seq"),
            audit_head=bindparam("head"), updated_at=bindparam("now"))
        added = insert(audit_events)
        quarter = max(1, len(self.rows) // 4)
        samples = Samples()
        paused = 0.0
        began = time.perf_counter()
        for done, (eid, pid, head) in enumerate(self.rows, 1):
            now = datetime.now(UTC)
            new_hash = hashlib.sha256(f"{head}\n{eid}|2|{now}|{TRIGGER}".encode()).hexdigest()
            with self.db.begin() as conn:
                if conn.execute(moved, {"eid": eid, "old": 1, "state": "b", "new": 2, "seq": 2, "head": new_hash,
                                        "now": now}).rowcount != 1:
                    raise SystemExit(f"baseline lost its row {eid}")
                conn.execute(added, {
                    "chain": eid, "seq": 2, "prev_hash": head, "hash": new_hash, "at": now, "actor_id": STAFF.id,
                    "actor_role": STAFF.role, "action": "transition", "subject_type": "patient", "subject_id": pid,
                    "enrollment_id": eid, "from_state": "a", "to_state": "b", "trigger": TRIGGER, "inputs": None,
                    "reason": None, "outcome": "ok", "detail": None})
            if probe is not None and done == quarter:
                mark = time.perf_counter()
                samples.quarter = probe()
                paused += time.perf_counter() - mark
        elapsed = time.perf_counter() - began - paused
        if probe is not None:
            samples.full = probe()
        return Pass(len(self.rows), elapsed, samples)

    def close(self) -> None:
        self.db.dispose()
