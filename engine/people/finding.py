"""Find patients and households for staff: by site, name prefix (any case) and birth date, a page at a time.

Every filter is answered by an index (engine.storage.tables): site and id, birth date, lower(name). A name prefix is
a LIKE on the lowered name; on SQLite, which compares text byte by byte, it is also the range [prefix, next
prefix), which the lower(name) index answers directly (SQLite uses no index for a LIKE on an expression).
PostgreSQL orders text by the database's collation, where that range is not always the prefix: there the LIKE
alone decides, and turns into a range of the lower(name) index itself, which is built byte-wise for that
(text_pattern_ops, revision 0014).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.sql.elements import ColumnElement

from engine.storage.tables import households, patients

_LAST = chr(0x10FFFF)
Sites = frozenset[str] | None  # as engine.people.walls says: None is every site


def find_patients(conn: Connection, *, site_id: str | None = None, family_name: str | None = None,
                  given_name: str | None = None, birth_date: date | None = None, limit: int = 50,
                  after: str | None = None, sites: Sites) -> list[str]:
    """Patient ids matching every filter given (names case-insensitively, by prefix), in id order; only at
    `sites` when given (the viewer's walls)."""
    query = select(patients.c.id).order_by(patients.c.id).limit(limit)
    if sites is not None:
        query = query.where(patients.c.site_id.in_(sorted(sites)))
    bytewise = conn.dialect.name == "sqlite"
    if site_id:
        query = query.where(patients.c.site_id == site_id)
    if family_name:
        query = query.where(*_starts_with(func.lower(patients.c.family_name), family_name.lower(), bytewise))
    if given_name:  # with a family name too, that one's range is the index to walk (given names repeat more)
        query = query.where(*_starts_with(func.lower(patients.c.given_name), given_name.lower(),
                                          bytewise and not family_name))
    if birth_date:
        query = query.where(patients.c.birth_date == birth_date)
    if after:
        query = query.where(patients.c.id > after)
    return list(conn.execute(query).scalars())


def _starts_with(lowered: Any, prefix: str, bytewise: bool) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [lowered.startswith(prefix, autoescape=True)]
    if bytewise:
        conditions.append(lowered >= prefix)
        if prefix[-1] != _LAST:
            conditions.append(lowered < prefix[:-1] + chr(ord(prefix[-1]) + 1))
    return conditions


def list_households(conn: Connection, *, site_id: str | None = None, limit: int = 50,
                    after: str | None = None, sites: Sites) -> list[str]:
    query = select(households.c.id).order_by(households.c.id).limit(limit)
    if sites is not None:
        query = query.where(households.c.site_id.in_(sorted(sites)))
    if site_id:
        query = query.where(households.c.site_id == site_id)
    if after:
        query = query.where(households.c.id > after)
    return list(conn.execute(query).scalars())
