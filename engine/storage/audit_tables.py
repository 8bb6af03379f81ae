"""The history's tables: the hash-chained audit events and the anchors that bind their chains' heads.

Apart from `engine.storage.tables` (which imports them, so the metadata holds every table) because they are the
one part of the schema that is append-only (`engine.storage.audit_protection`) and checked as a whole
(`engine.audit.verify`).
"""

from __future__ import annotations

from sqlalchemy import DDL, JSON, Column, Index, Integer, String, Table, Text, UniqueConstraint, event

from engine.storage.audit_locks import LOCK_FUNCTION_DDL
from engine.storage.schema import metadata, utc_time

audit_events = Table(
    "audit_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("chain", String(64), nullable=False),  # enrollment id, or "subject_type:id" / "global" outside one
    Column("seq", Integer, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    utc_time("at"),
    Column("actor_id", String(64), nullable=False),
    Column("actor_role", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject_type", String(16), nullable=True),
    Column("subject_id", String(64), nullable=True),
    Column("enrollment_id", String(64), nullable=True),
    Column("from_state", String(64), nullable=True),
    Column("to_state", String(64), nullable=True),
    Column("trigger", String(64), nullable=True),
    Column("inputs", JSON(none_as_null=True), nullable=True),  # None is SQL NULL, not the JSON text 'null'
    Column("reason", Text, nullable=True),
    Column("outcome", String(16), nullable=False),  # ok | refused | failed
    Column("detail", Text, nullable=True),
    UniqueConstraint("chain", "seq", name="uq_audit_events_chain_seq"), Index("ix_audit_events_at", "at"),
    Index("ix_audit_events_subject", "subject_type", "subject_id"),
    Index("ix_audit_events_actor", "actor_id", "at"), Index("ix_audit_events_actor_id", "actor_id", "id"),
)

audit_anchors = Table(
    "audit_anchors", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    utc_time("at"),
    Column("upto_event_id", Integer, nullable=False),
    Column("chains", Integer, nullable=False),
    Column("heads_digest", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("seal", String(64), nullable=True),  # HMAC of hash under a key outside the database (engine.audit.keeping)
)

# Tables made straight from the metadata (tests) get the anchors' lock function too; migrations make it in 0012.
event.listen(audit_events, "after_create",
             DDL(LOCK_FUNCTION_DDL).execute_if(dialect="postgresql"))  # type: ignore[no-untyped-call]
