"""Checks of the history against what is kept apart from its chains: each enrollment's recorded head, the anchors'
seals (a key outside the database) and the anchor log (a file outside it).

A chain alone cannot show that its newest rows, or all of them, were deleted; an anchor alone cannot show that it
was deleted or re-made by someone who can write the database. These close both gaps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, exists, select
from sqlalchemy.engine import RowMapping

from engine.audit.keeping import AnchorKeeper
from engine.storage.tables import audit_events, enrollments


def heads_problem(conn: Connection) -> str | None:
    """An enrollment whose history does not end where the enrollment says it does (its newest rows deleted, or
    the whole chain), or goes on past it."""
    e, a = enrollments, audit_events
    head_row = select(a.c.hash).where((a.c.chain == e.c.id) & (a.c.seq == e.c.audit_seq)).scalar_subquery()
    beyond = exists().where(and_(a.c.chain == e.c.id, a.c.seq > e.c.audit_seq))
    found = conn.execute(select(e.c.id, e.c.audit_seq, e.c.audit_head, head_row.label("stored")).where(
        (e.c.audit_seq > 0) & ((head_row.is_(None)) | (head_row != e.c.audit_head) | beyond))
        .order_by(e.c.id).limit(1)).first()
    if found is None:
        return None
    if found.stored is None:
        return (f"enrollment {found.id} records {found.audit_seq} history row(s), but its row {found.audit_seq} "
                "is missing: the newest rows of its history were deleted")
    if found.stored != found.audit_head:
        return f"enrollment {found.id}: its history row {found.audit_seq} is not the one the enrollment recorded"
    return f"enrollment {found.id}: its history goes on past row {found.audit_seq}, where the enrollment says it ends"


def seal_problem(anchors: Sequence[RowMapping], keeper: AnchorKeeper) -> str | None:
    """Every seal made with the key; no anchor without one after the first that has one."""
    sealed_before = False
    for a in anchors:
        if a["seal"] is None:
            if sealed_before:
                return (f"anchor {a['id']} has no seal though anchor(s) before it were sealed: it was re-made "
                        "without the key")
            continue
        if not keeper.sealed(str(a["hash"]), str(a["seal"])):
            return f"anchor {a['id']}'s seal does not match its hash: it was re-made without the key"
        sealed_before = True
    return None


def log_problem(anchors: Sequence[RowMapping], keeper: AnchorKeeper) -> str | None:
    """Every anchor in the log must be in the database as logged; anchors gone from the database are named."""
    logged = keeper.recorded()
    if isinstance(logged, str):
        return logged
    stored = {a["id"]: a for a in anchors}
    for entry in logged:
        anchor = stored.get(entry["id"])
        if anchor is None:
            newest = max(stored, default=0)
            return (f"anchors went down: anchor {entry['id']} (written at {entry.get('at')}) is in the anchor log "
                    f"but not in the database, whose newest anchor is {newest or 'none'}; the history it bound "
                    "may have lost rows")
        if not _same(anchor, entry):
            return f"anchor {entry['id']} differs from the anchor log: it was re-made"
    return None


def _same(anchor: RowMapping, entry: dict[str, Any]) -> bool:
    return all(anchor[name] == entry.get(name) for name in ("upto_event_id", "chains", "heads_digest", "hash"))
