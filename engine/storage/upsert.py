"""INSERT ... ON CONFLICT DO UPDATE on SQLite and PostgreSQL alike: one statement, no race between a missed
UPDATE and an INSERT that two transactions both try."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, CursorResult, Table
from sqlalchemy.dialects import postgresql, sqlite


def upsert(conn: Connection, table: Table, values: Mapping[str, Any], on: list[str],
           update: Mapping[str, Any], returning: list[str] | None = None) -> CursorResult[Any]:
    """Insert `values`; where a row with the same `on` columns exists, set `update` on it instead (expressions may
    use `table.c` for the stored value)."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values(**values).on_conflict_do_update(index_elements=on, set_=dict(update))
    if returning:
        statement = statement.returning(*(table.c[name] for name in returning))  # type: ignore[assignment]
    return conn.execute(statement)
