"""Anchors: rows that bind the heads of every chain, so a deleted tail or a whole deleted chain is seen.

A chain alone cannot show that its tail, or all of it, was deleted: what is left is still a valid chain. So `anchor`
periodically writes a row binding the heads of all chains as of the newest settled event, chained to the previous
anchor, and `engine.audit.verify` recomputes those heads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.sql.elements import ColumnElement

from engine.audit.entry import GENESIS, canonical_json, chain_hash, stored_time, utc_text
from engine.audit.keeping import AnchorRecord
from engine.storage.audit_locks import lock_audit_table
from engine.storage.tables import audit_anchors, audit_events

_PAGE = 500  # rows per fetch when streaming heads


def anchor(conn: Connection, at: datetime, seal: Callable[[str], str] | None = None) -> AnchorRecord:
    """Bind the heads of all chains as of the newest event in a new anchor row, sealed with `seal` (the keeper's
    keyed MAC of its hash); returns it.

    Run it in its own READ COMMITTED transaction (the periodic sweep), not inside a transaction that appends.
    """
    made = _anchor(conn, at, seal, only_if_new=False)
    assert made is not None
    return made


def anchor_if_new(conn: Connection, at: datetime, seal: Callable[[str], str] | None = None) -> AnchorRecord | None:
    """`anchor`, unless no event was recorded since the last anchor (then None): the background round's."""
    return _anchor(conn, at, seal, only_if_new=True)


def _anchor(conn: Connection, at: datetime, seal: Callable[[str], str] | None, *,
            only_if_new: bool) -> AnchorRecord | None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("anchor time must be timezone-aware")
    upto = _settled_upto(conn)
    last = conn.execute(select(audit_anchors.c.hash, audit_anchors.c.upto_event_id)
                        .order_by(audit_anchors.c.id.desc()).limit(1)).first()
    if only_if_new and last is not None and last.upto_event_id >= upto:
        return None
    chains, digest = _digest_heads(_heads_as_of(conn, upto))
    prev_hash = last.hash if last is not None else GENESIS
    at_text = utc_text(at.astimezone(UTC))
    new_hash = chain_hash(prev_hash, anchor_content(at_text, chains, digest, upto))
    sealed = seal(new_hash) if seal is not None else None
    anchor_id = int(conn.execute(insert(audit_anchors).values(
        at=at.astimezone(UTC), upto_event_id=upto, chains=chains, heads_digest=digest, prev_hash=prev_hash,
        hash=new_hash, seal=sealed,
    ).returning(audit_anchors.c.id)).scalar_one())
    return AnchorRecord(anchor_id, at_text, upto, chains, digest, new_hash, sealed)


def newest_anchor_at(conn: Connection) -> datetime | None:
    at = conn.execute(select(func.max(audit_anchors.c.at))).scalar()
    return None if at is None else stored_time(at)


def anchor_content(at_text: str, chains: object, heads_digest: object, upto: object) -> bytes:
    return canonical_json({"at": at_text, "chains": chains, "heads_digest": heads_digest, "upto_event_id": upto})


def head_line(chain: str, seq: int, hash_: str) -> bytes:
    return f"{chain}\t{seq}\t{hash_}\n".encode()


def _settled_upto(conn: Connection) -> int:
    """The newest event id such that no transaction can still commit an event with a lower id."""
    newest = select(func.coalesce(func.max(audit_events.c.id), 0))
    if conn.dialect.name != "postgresql":
        # SQLite has one writer at a time and numbers a row when it writes it: lower ids are already committed.
        return int(conn.execute(newest).scalar_one())
    # Anchors are a chain too: one writer at a time until commit. This blocks only other anchors. (The locks go
    # through the owner's function: the application role may not lock these tables itself.)
    lock_audit_table(conn, "audit_anchors")
    barrier = conn.begin_nested()
    try:
        # Ids come from a sequence before commit, so a slower transaction could still commit an id below max(id),
        # and the anchor would later look wrong. This lock waits for every transaction inserting events to end.
        lock_audit_table(conn, "audit_events")
        return int(conn.execute(newest).scalar_one())
    finally:
        barrier.rollback()  # releases that lock now: appends wait for one max(id) lookup, not the whole anchor


def chain_order(conn: Connection) -> ColumnElement[str]:
    # The heads digest is defined over code-point order so anyone can recompute it from an export, and a new
    # collation or ICU version cannot change it. PostgreSQL's default collation is usually linguistic; "C" is
    # byte order, which in UTF-8 is code-point order, as SQLite's BINARY.
    return audit_events.c.chain.collate("C") if conn.dialect.name == "postgresql" else audit_events.c.chain


def _heads_as_of(conn: Connection, upto: int) -> Iterator[tuple[str, int, str]]:
    e = audit_events
    newest = select(e.c.chain, func.max(e.c.seq).label("seq")).where(e.c.id <= upto).group_by(e.c.chain).subquery()
    stmt = (
        select(e.c.chain, e.c.seq, e.c.hash)
        .join_from(e, newest, (e.c.chain == newest.c.chain) & (e.c.seq == newest.c.seq))
        .order_by(chain_order(conn))
        .execution_options(yield_per=_PAGE)
    )
    for row in conn.execute(stmt):
        yield row.chain, row.seq, row.hash


def _digest_heads(heads: Iterable[tuple[str, int, str]]) -> tuple[int, str]:
    digest, count = hashlib.sha256(), 0
    for chain, seq, hash_ in heads:
        digest.update(head_line(chain, seq, hash_))
        count += 1
    return count, digest.hexdigest()

