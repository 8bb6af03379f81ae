"""PostgreSQL: a batch's moves and audit rows in one statement each, the rows passed as arrays (`unnest`).

Why: an executemany sends one statement per row, and the server binds and executes each alone; on a machine whose
cores the sweepers share with the server, that per-statement work was most of a batch's. `UPDATE ... FROM
unnest(...)` and `INSERT ... SELECT ... FROM unnest(...)` do the same row work in one statement each, and the
moved count is the UPDATE's own row count (a move whose enrollment changed after it was read matches no row).

The values are the ones the per-row statements bind: each array has its column's type (SQLAlchemy renders the
casts), and a JSON value is dumped to text by the driver's own JSON dumper, then cast to JSON in SQL, which keeps
the text as given — so the stored rows are the same bytes (tests/engine/test_sweep_fast_path.py compares them with
the advancer's own per-row writes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ARRAY, JSON, Column, Connection, Text, bindparam, cast, column, func, insert, select, update
from sqlalchemy.sql.elements import ColumnElement

from engine.audit.trail import AUDIT_ROW_KEYS
from engine.fsm.rows import MOVE_KEYS
from engine.storage.direct import DirectStatement
from engine.storage.tables import audit_events, enrollments

# A move's keys (`engine.fsm.rows.moved`) and the enrollment column each one holds (None: only compared).
_MOVE_KEYS: tuple[tuple[str, Column[Any]], ...] = (
    ("b_id", enrollments.c.id), ("b_version", enrollments.c.version), ("b_read_seq", enrollments.c.audit_seq),
    ("b_state", enrollments.c.state), ("b_next", enrollments.c.version),
    ("b_selected", enrollments.c.selected_children), ("b_seq", enrollments.c.audit_seq),
    ("b_head", enrollments.c.audit_head), ("b_now", enrollments.c.updated_at))
_AUDIT_KEYS: tuple[tuple[str, Column[Any]], ...] = tuple(
    (c.name, c) for c in audit_events.columns if c.name != "id")


@dataclass(frozen=True)
class _Unnested:
    """One statement over `unnest` of one array per key, from rows given as values in `order` (a batch's rows)."""

    statement: DirectStatement
    keys: tuple[tuple[str, Column[Any]], ...]
    order: tuple[str, ...]

    def arrays(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> dict[str, list[Any]]:
        dialect = conn.dialect
        arrays: dict[str, list[Any]] = {}
        columns = list(zip(*rows, strict=True))  # one tuple per key of `order`
        for key, col in self.keys:
            values = list(columns[self.order.index(key)])
            if isinstance(col.type, JSON):
                process = col.type.dialect_impl(dialect).bind_processor(dialect)
                values = [None if value is None else _json_text(conn, process(value) if process else value)
                          for value in values]
            arrays[f"u_{key}"] = values
        return arrays


def _json_text(conn: Connection, wrapped: Any) -> str:
    """What the driver sends for a JSON parameter (SQLAlchemy wraps the value for it), as text."""
    from psycopg.adapt import PyFormat  # only on PostgreSQL: SQLite never comes here

    driver = conn.connection.driver_connection
    dumper = driver.adapters.get_dumper(type(wrapped), PyFormat.TEXT)(type(wrapped), driver)  # type: ignore[union-attr]
    return bytes(dumper.dump(wrapped)).decode()


def _unnest(keys: tuple[tuple[str, Column[Any]], ...], name: str) -> Any:
    """The arrays as a table with an `ordinality` column: their order, which the audit rows' ids keep."""
    arrays = [bindparam(f"u_{key}", type_=ARRAY(Text if isinstance(col.type, JSON) else col.type))
              for key, col in keys]
    return func.unnest(*arrays).table_valued(*(column(key) for key, _ in keys),
                                             with_ordinality="ordinality").render_derived(name=name)


def _value(rows: Any, key: str, col: Column[Any]) -> ColumnElement[Any]:
    return cast(rows.c[key], JSON) if isinstance(col.type, JSON) else rows.c[key]


def _moves() -> _Unnested:
    m = _unnest(_MOVE_KEYS, "m")
    statement = update(enrollments).where(
        (enrollments.c.id == m.c.b_id) & (enrollments.c.version == m.c.b_version)
        & (enrollments.c.audit_seq == m.c.b_read_seq)).values(
        state=m.c.b_state, version=m.c.b_next,
        selected_children=_value(m, "b_selected", enrollments.c.selected_children), audit_seq=m.c.b_seq,
        audit_head=m.c.b_head, updated_at=m.c.b_now)
    return _Unnested(DirectStatement(statement, binary=True), _MOVE_KEYS, MOVE_KEYS)


def _audit() -> _Unnested:
    a = _unnest(_AUDIT_KEYS, "a")
    names = [key for key, _ in _AUDIT_KEYS]
    statement = insert(audit_events).from_select(names, select(*(_value(a, key, col) for key, col in _AUDIT_KEYS))
                                                 .order_by(a.c.ordinality))
    return _Unnested(DirectStatement(statement, binary=True), _AUDIT_KEYS, AUDIT_ROW_KEYS)


_MOVES = _moves()
_AUDIT = _audit()


def move_all(conn: Connection, moves: Sequence[Sequence[Any]]) -> int:
    """`engine.fsm.rows.move_many` in one statement: how many of the `moved` rows (values in `MOVE_KEYS` order)
    moved."""
    return _MOVES.statement.execute(conn, _MOVES.arrays(conn, moves)) if moves else 0


def insert_audit(conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
    """`engine.audit.trail.write_values` in one statement (rows as values in `AUDIT_ROW_KEYS` order)."""
    if rows:
        _AUDIT.statement.execute(conn, _AUDIT.arrays(conn, rows))
