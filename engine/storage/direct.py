"""Prebuilt statements run on the driver's cursor: the few statements every transition executes.

Why: a transition runs three statements (read the enrollment, move it, append its audit rows). Through
`Connection.execute` each one pays SQLAlchemy's per-call machinery (execution context, parameter dictionaries,
result metadata), which `make bench` measured at several times the database's own work for these tiny statements.
This module keeps SQLAlchemy's knowledge and drops only that per-call machinery:
- the SQL text is SQLAlchemy's own compilation of the statement for the connection's dialect, made once per dialect;
- every parameter and every result value goes through the same type processors SQLAlchemy applies
  (`TypeEngine.bind_processor` / `result_processor`), so what is stored and read back is exactly what the rest of
  the code, the verifier and the migrations see;
- the cursor belongs to the SQLAlchemy connection's transaction (begun first if need be, as `execute` would), so
  commit and rollback stay SQLAlchemy's;
- driver errors are re-raised as SQLAlchemy's exception classes (`IntegrityError` stays `IntegrityError`).
What it skips: SQLAlchemy's statement events and echo logging, which PortalFlow does not use on these statements,
but for `before_cursor_execute`: its listeners are told of each statement (with no execution context), so that the
tests that count a read's statements and explain each one (tests/statements.py) see these too. The service
registers none, and then it costs one attribute read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Delete, Insert, Select, Update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Plan:
    sql: str
    positional: bool
    names: tuple[str, ...]
    binders: tuple[tuple[str, Processor], ...]  # only the parameters that need converting
    readers: tuple[Processor | None, ...]  # per selected column; empty when the statement returns nothing
    arguments: Callable[[Mapping[str, Any]], Any]  # one call's parameters as the driver takes them, converted


class DirectStatement:
    """One statement, compiled once per dialect, executed on the DB-API cursor of a SQLAlchemy connection."""

    def __init__(self, statement: Select[Any] | Insert | Update | Delete,
                 columns: Sequence[str] | None = None, *, binary: bool = False) -> None:
        """`columns`: for an INSERT without values, the columns every execution supplies (all of them, in order).
        `binary`: PostgreSQL's driver sends the parameters in binary (psycopg's `%(name)b`), for a statement whose
        parameters are a batch's arrays, each cast to its type in SQL: psycopg writes an array as text in Python,
        quoting each element, and that cost the sweep more than the database's work; in binary it costs a fifth."""
        self._statement = statement
        self._columns = list(columns) if columns is not None else None
        self._binary = binary
        self._plans: dict[str, _Plan] = {}
        self._pickers: dict[tuple[str, tuple[str, ...]], Callable[[Sequence[Any]], Sequence[Any]]] = {}

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:
            plan = self._plans[dialect.name] = self._compile(dialect)
        return plan

    def _compile(self, dialect: Dialect) -> _Plan:
        compiled = self._statement.compile(dialect=dialect, column_keys=self._columns)
        names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.binds)
        binders = []
        for name in dict.fromkeys(names):
            process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                binders.append((name, process))
        readers: tuple[Processor | None, ...] = ()
        if isinstance(self._statement, Select):
            readers = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                            for column in self._statement.selected_columns)
        arguments = _positional(names, dict(binders)) if compiled.positional else _named(dict(binders))
        sql = compiled.string
        if self._binary and dialect.driver == "psycopg":
            sql = re.sub(r"%\((\w+)\)s", r"%(\1)b", sql)
        return _Plan(sql, compiled.positional, names, tuple(binders), readers, arguments)

    def sql(self, dialect: Dialect) -> str:
        """The statement's text for `dialect`, as it is sent (for a test that explains it)."""
        return self._plan(dialect).sql

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Run once; returns the driver's rowcount."""
        plan = self._plan(conn.dialect)
        cursor = _cursor(conn)
        try:
            _run(conn, cursor.execute, plan.sql, plan.arguments(params))
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def execute_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        plan = self._plan(conn.dialect)
        cursor = _cursor(conn)
        try:
            if len(rows) == 1:
                _run(conn, cursor.execute, plan.sql, plan.arguments(rows[0]))
            else:
                names = plan.names
                pick = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
                _run(conn, cursor.executemany, plan.sql, _arguments_many(plan, rows, pick))
        finally:
            cursor.close()

    def execute_many_values(self, conn: Connection, keys: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> None:
        """`execute_many` of rows given as their values in the order of `keys`, not as dicts: a batch's rows are
        made straight into their place (the sweep makes two per expiry), and no dict per row is built and read."""
        if not rows:
            return
        plan = self._plan(conn.dialect)
        if not plan.positional:  # PostgreSQL's driver takes names
            self.execute_many(conn, [dict(zip(keys, row, strict=True)) for row in rows])
            return
        pick = self._pickers.get((conn.dialect.name, keys))
        if pick is None:
            places = [keys.index(name) for name in plan.names]
            pick = self._pickers[(conn.dialect.name, keys)] = (
                itemgetter(*places) if len(places) > 1 else (lambda row: (row[places[0]],)))
        cursor = _cursor(conn)
        try:
            _run(conn, cursor.executemany, plan.sql, _arguments_many(plan, rows, pick))
        finally:
            cursor.close()

    def first(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row of a SELECT, each value converted as SQLAlchemy would; None when there is none."""
        found = self._fetch(conn, params, one=True)
        return found[0] if found else None

    def all(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row of a SELECT, each value converted as SQLAlchemy would."""
        return self._fetch(conn, params, one=False)

    def _fetch(self, conn: Connection, params: Mapping[str, Any], *, one: bool) -> list[tuple[Any, ...]]:
        plan = self._plan(conn.dialect)
        cursor = _cursor(conn)
        try:
            _run(conn, cursor.execute, plan.sql, plan.arguments(params))
            row = cursor.fetchone() if one else None
            found = ([] if row is None else [row]) if one else cursor.fetchall()
        finally:
            cursor.close()
        return _read(plan.readers, found)


def _positional(names: tuple[str, ...], binders: Mapping[str, Processor]) -> Callable[[Mapping[str, Any]], Any]:
    """The parameters in the statement's order (a name may come twice), each converted where its type says.

    Built once per statement: a call is then one `itemgetter` and the few conversions (dates, JSON)."""
    if not names:
        return lambda _params: ()
    pick = itemgetter(*names)
    converting = tuple((i, binders[name]) for i, name in enumerate(names) if name in binders)
    if len(names) == 1:
        only = binders.get(names[0])
        return (lambda params: (pick(params),)) if only is None else (lambda params: (only(pick(params)),))
    if not converting:
        return pick

    def arguments(params: Mapping[str, Any]) -> list[Any]:
        values = list(pick(params))
        for i, process in converting:
            values[i] = process(values[i])
        return values

    return arguments


def _named(binders: Mapping[str, Processor]) -> Callable[[Mapping[str, Any]], Any]:
    """The parameters by name (PostgreSQL's driver), each converted where its type says."""
    def arguments(params: Mapping[str, Any]) -> dict[str, Any]:
        values = dict(params)
        for name, process in binders.items():
            values[name] = process(values[name])
        return values

    return arguments


def _read(readers: tuple[Processor | None, ...], rows: list[Any]) -> list[tuple[Any, ...]]:
    """Rows as SQLAlchemy would give their values: each through its column's result processor, if it has one."""
    reading = [(position, read) for position, read in enumerate(readers) if read is not None]
    if not reading:
        return [tuple(row) for row in rows]
    converted = []
    for row in rows:
        values = list(row)
        for position, read in reading:
            if values[position] is not None:
                values[position] = read(values[position])
        converted.append(tuple(values))
    return converted


def _arguments_many(plan: _Plan, rows: Sequence[Any], pick: Callable[[Any], Sequence[Any]]) -> list[Any]:
    """`_Plan.arguments` of every row (`pick` gives a row's values in the statement's order), converting a value that
    many rows share (a batch's one `now`) once. Shared means the same object, not an equal one: a UTC time and a local
    time of one instant are equal but stored apart. (Every value stays referenced by `rows` meanwhile, so no two of
    them can have the same id.)"""
    if not plan.positional:
        named = []
        done: dict[tuple[str, int], Any] = {}
        for row in rows:
            values = dict(row)
            for name, process in plan.binders:
                value = values[name]
                key = (name, id(value))
                if key not in done:
                    done[key] = process(value)
                values[name] = done[key]
            named.append(values)
        return named
    names = plan.names
    # Per converted position: its processor and what it made of each value (by id).
    at: list[tuple[int, Processor, dict[int, Any]]] = [
        (position, process, {}) for position, name in enumerate(names) for bound, process in plan.binders
        if bound == name]
    arguments: list[Any] = []
    for row in rows:
        picked = pick(row)
        if at:
            picked = list(picked)
            for position, process, converted in at:
                value = picked[position]
                made = converted.get(id(value), _UNMADE)
                if made is _UNMADE:
                    made = converted[id(value)] = process(value)
                picked[position] = made
        arguments.append(picked)
    return arguments


_UNMADE: Any = object()


def _cursor(conn: Connection) -> Any:
    # The DB-API connection (the driver's own one for the drivers PortalFlow uses): an attribute, where
    # `driver_connection` is three property calls deep, and every statement of an advance asks for it.
    driver = conn.connection.dbapi_connection
    if not conn.in_transaction() and not getattr(driver, "writing", False):
        # What `Connection.execute` does (autobegin), so `conn.commit()` commits these statements too. Not when a
        # write transaction was begun on the driver itself (`engine.storage.group_commit`): that one's owner ends it.
        conn.begin()
    return driver.cursor()  # type: ignore[union-attr]


def _run(conn: Connection, call: Callable[[str, Any], Any], sql: str, arguments: Any) -> None:
    listeners = conn.dispatch.before_cursor_execute
    if listeners:  # none in the service; tests count and explain what a read sends (tests/statements.py)
        cursor = getattr(call, "__self__", None)
        many = getattr(call, "__name__", "") == "executemany"
        for listen in listeners:
            listen(conn, cursor, sql, arguments, None, many)
    driver_error: type[Exception] = conn.dialect.loaded_dbapi.Error
    try:
        call(sql, arguments)
    except driver_error as error:
        raise DBAPIError.instance(sql, arguments, error, driver_error, dialect=conn.dialect) from error


class DirectSavepoint:
    """A savepoint issued on the driver's cursor inside the connection's SQLAlchemy transaction.

    For loops that open one per item (the sweep: one per timer), where `Connection.begin_nested` costs two compiled
    SQLAlchemy executions per item. SQLAlchemy does not track it: do not mix it with `begin_nested` on the same
    name, and end it (`release` or `rollback`) before the transaction ends. Once ended, ending it again does
    nothing: a savepoint handed to a callee may be ended there (the advancer rolls back a refused advance).
    """

    def __init__(self, conn: Connection, name: str = "pf_item") -> None:
        self._conn, self._name = conn, name
        self.ended = False
        self._sql(f"SAVEPOINT {name}")

    def release(self) -> None:
        if not self.ended:
            self.ended = True
            self._sql(f"RELEASE SAVEPOINT {self._name}")

    def rollback(self) -> None:
        """Undo everything since the savepoint, and end it."""
        if not self.ended:
            self.ended = True
            self._sql(f"ROLLBACK TO SAVEPOINT {self._name}")
            self._sql(f"RELEASE SAVEPOINT {self._name}")

    def _sql(self, sql: str) -> None:
        cursor = _cursor(self._conn)
        try:
            _run(self._conn, lambda text, _arguments: cursor.execute(text), sql, None)
        finally:
            cursor.close()
