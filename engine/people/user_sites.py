"""The sites a staff user works at: read with the user (their walls travel with every request), set by an admin.

No row for a user: every site (what a single-practice install wants without setting anything). Setting them is
audited on the user's own chain (`staff:<id>`), like a change of role.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from engine.actors import ActorRef
from engine.audit.entry import about_subject
from engine.audit.trail import append_to_subject
from engine.errors import InvalidInput
from engine.storage.tables import sites, staff_user_sites


def sites_of(conn: Connection, user_ids: Sequence[str] | None = None) -> dict[str, frozenset[str]]:
    """Each user's sites, for the users who have any (`user_ids`: only these; None: everyone's)."""
    query = select(staff_user_sites.c.user_id, staff_user_sites.c.site_id)
    if user_ids is not None:
        query = query.where(staff_user_sites.c.user_id.in_(list(user_ids)))
    found: dict[str, set[str]] = {}
    for user_id, site_id in conn.execute(query):
        found.setdefault(user_id, set()).add(site_id)
    return {user_id: frozenset(site_ids) for user_id, site_ids in found.items()}


def set_sites(conn: Connection, now: datetime, by: ActorRef, user_id: str, role: str,
              site_ids: Collection[str] | None) -> None:
    """Replace a user's sites (None or empty: every site). Every site must exist; an integration has none."""
    wanted = sorted(set(site_ids or ()))
    if wanted and role == "integration":
        raise InvalidInput("sites", "an integration is not bound to sites: it feeds and answers for every one")
    known = set(conn.execute(select(sites.c.id).where(sites.c.id.in_(wanted))).scalars()) if wanted else set()
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise InvalidInput("sites", f"no site '{unknown[0]}'")
    before = sorted(sites_of(conn, [user_id]).get(user_id, ()))
    if before == wanted:
        return
    conn.execute(delete(staff_user_sites).where(staff_user_sites.c.user_id == user_id))
    if wanted:
        conn.execute(insert(staff_user_sites), [{"user_id": user_id, "site_id": s} for s in wanted])
    append_to_subject(conn, about_subject("staff", user_id, now, by, "sites_changed",
                                          detail=f"sites {_said(before)} -> {_said(wanted)}"))


def _said(site_ids: Sequence[str]) -> str:
    return ", ".join(site_ids) or "every site"
