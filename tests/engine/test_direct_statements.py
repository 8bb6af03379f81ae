"""The hot path's statements run on the driver's cursor but store and read exactly what SQLAlchemy would."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import (
    ARRAY,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    any_,
    bindparam,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import JSON
from statements import Statements

from engine.storage.database import make_engine
from engine.storage.direct import DirectSavepoint, DirectStatement

metadata = MetaData()
things = Table(
    "things", metadata,
    Column("id", String(8), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("data", JSON(none_as_null=True), nullable=True),
    Column("n", Integer, nullable=False),
)
_ADD = DirectStatement(insert(things), ("id", "at", "data", "n"))
_READ = DirectStatement(select(things.c.at, things.c.data, things.c.n).where(things.c.id == bindparam("key")))
AT = datetime(2026, 3, 2, 14, 0, 5, 123456, tzinfo=UTC)


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    metadata.create_all(engine)
    yield engine
    metadata.drop_all(engine)
    engine.dispose()


def test_a_direct_insert_stores_what_a_sqlalchemy_insert_stores(db: Engine) -> None:
    with db.begin() as conn:
        _ADD.execute_many(conn, [{"id": "direct", "at": AT, "data": {"k": [1, "é"]}, "n": 1}])
        conn.execute(insert(things), [{"id": "core", "at": AT, "data": {"k": [1, "é"]}, "n": 1}])
    with db.connect() as conn:
        rows = {r.id: (r.at, r.data, r.n) for r in conn.execute(select(things))}
    assert rows["direct"] == rows["core"]
    assert rows["direct"][1] == {"k": [1, "é"]}


def test_a_direct_read_converts_values_as_sqlalchemy_does(db: Engine) -> None:
    with db.begin() as conn:
        conn.execute(insert(things), [{"id": "a", "at": AT, "data": {"x": 1}, "n": 7},
                                      {"id": "b", "at": AT, "data": None, "n": 8}])
    with db.connect() as conn:
        direct = _READ.first(conn, {"key": "a"})
        core = conn.execute(select(things.c.at, things.c.data, things.c.n).where(things.c.id == "a")).one()
        assert direct == tuple(core)
        assert direct is not None
        assert direct[1] == {"x": 1}
        assert _READ.first(conn, {"key": "b"}) == (core[0], None, 8)
        assert _READ.first(conn, {"key": "missing"}) is None


def test_a_driver_error_arrives_as_sqlalchemys_integrity_error_and_rolls_back(db: Engine) -> None:
    def add_twice() -> None:
        with db.begin() as conn:
            _ADD.execute(conn, {"id": "dup", "at": AT, "data": None, "n": 1})
            _ADD.execute(conn, {"id": "dup", "at": AT, "data": None, "n": 2})

    with pytest.raises(IntegrityError):
        add_twice()
    with db.connect() as conn:
        assert _READ.first(conn, {"key": "dup"}) is None


def test_statements_on_a_connection_without_a_transaction_are_committed_by_its_commit(db: Engine) -> None:
    with db.connect() as conn:
        _ADD.execute(conn, {"id": "auto", "at": AT, "data": None, "n": 3})
        assert conn.in_transaction()
        conn.commit()
    with db.connect() as conn:
        found = _READ.first(conn, {"key": "auto"})
    assert found is not None
    assert found[2] == 3


def test_a_direct_savepoint_undoes_only_its_own_writes_even_after_a_database_error(db: Engine) -> None:
    with db.begin() as conn:
        _ADD.execute_many(conn, [{"id": "kept", "at": AT, "data": None, "n": 1}])
        failed = DirectSavepoint(conn)
        _ADD.execute_many(conn, [{"id": "undone", "at": AT, "data": None, "n": 2}])
        with pytest.raises(IntegrityError):  # on PostgreSQL this aborts the transaction up to the savepoint
            _ADD.execute_many(conn, [{"id": "kept", "at": AT, "data": None, "n": 3}])
        failed.rollback()
        released = DirectSavepoint(conn)
        _ADD.execute_many(conn, [{"id": "after", "at": AT, "data": None, "n": 4}])
        released.release()
    with db.connect() as conn:
        assert {r.id: r.n for r in conn.execute(select(things.c.id, things.c.n))} == {"kept": 1, "after": 4}


def test_a_savepoint_ended_by_a_callee_is_not_ended_again_by_its_owner(db: Engine) -> None:
    with db.begin() as conn:
        _ADD.execute_many(conn, [{"id": "kept", "at": AT, "data": None, "n": 1}])
        handed_over = DirectSavepoint(conn, "pf_outer")
        _ADD.execute_many(conn, [{"id": "undone", "at": AT, "data": None, "n": 2}])
        handed_over.rollback()  # the callee undid its work
        assert handed_over.ended
        handed_over.release()  # the owner's usual release now does nothing (a second RELEASE would fail)
        handed_over.rollback()
        _ADD.execute_many(conn, [{"id": "after", "at": AT, "data": None, "n": 3}])
    with db.connect() as conn:
        assert {r.id: r.n for r in conn.execute(select(things.c.id, things.c.n))} == {"kept": 1, "after": 3}


def test_a_time_many_rows_share_is_stored_as_each_row_alone_would_store_it_and_an_equal_local_one_apart(
        db: Engine) -> None:
    local = AT.astimezone(timezone(timedelta(hours=-5)))  # the same instant, another zone: equal, not the same
    shared = {"k": [1]}
    rows = [{"id": f"m{i}", "at": AT if i % 2 else local, "data": shared if i % 3 else None, "n": i} for i in range(6)]
    with db.begin() as conn:
        _ADD.execute_many(conn, rows)
        for row in rows:
            _ADD.execute_many(conn, [{**row, "id": row["id"].replace("m", "o")}])
    with db.connect() as conn:
        stored = {r[0]: r[1:] for r in conn.exec_driver_sql("SELECT id, at, data, n FROM things")}
    assert {key.replace("o", "m"): value for key, value in stored.items() if key.startswith("o")} == {
        key: value for key, value in stored.items() if key.startswith("m")}
    assert len(stored) == 12


def test_rows_given_as_values_in_any_key_order_are_stored_as_the_same_rows_given_as_dicts(db: Engine) -> None:
    local = AT.astimezone(timezone(timedelta(hours=-5)))
    rows = [{"id": f"m{i}", "at": AT if i % 2 else local, "data": {"k": [i]} if i % 3 else None, "n": i}
            for i in range(6)]
    order = ("n", "data", "id", "at")  # not the statement's own order
    with db.begin() as conn:
        _ADD.execute_many(conn, rows)
        _ADD.execute_many_values(conn, order, [tuple(
            row[key].replace("m", "v") if key == "id" else row[key] for key in order) for row in rows])
        _ADD.execute_many_values(conn, order, [])  # nothing to write: no statement
    with db.connect() as conn:
        stored = {r[0]: r[1:] for r in conn.exec_driver_sql("SELECT id, at, data, n FROM things")}
    assert {key.replace("v", "m"): value for key, value in stored.items() if key.startswith("v")} == {
        key: value for key, value in stored.items() if key.startswith("m")}
    assert len(stored) == 12


def test_an_array_sent_in_binary_finds_the_rows_the_same_array_finds_as_text(db: Engine) -> None:
    if db.dialect.name != "postgresql":
        pytest.skip("arrays and binary parameters are PostgreSQL's")
    ids = ['q"u', "c,m", "{b}", "b\\s", "NULL", " l", "é"]  # what text arrays must quote (ids are 8 long)
    wanted = (*ids, "absent", None)
    query = select(things.c.id, things.c.at).where(things.c.id == any_(bindparam("ids", type_=ARRAY(String(8)))))
    as_text, in_binary = DirectStatement(query), DirectStatement(query, binary=True)
    with db.begin() as conn:
        _ADD.execute_many(conn, [{"id": key, "at": AT, "data": None, "n": 1} for key in [*ids, "other"]])
    with Statements(db) as seen, db.connect() as conn:
        found = sorted(in_binary.all(conn, {"ids": list(wanted)}))
        assert found == sorted(as_text.all(conn, {"ids": list(wanted)}))
    assert found == sorted((key, AT) for key in ids)
    assert "%(ids)b" in seen.sent[0][0]
    assert "%(ids)s" in seen.sent[1][0]


def test_statement_listeners_are_told_of_direct_statements_as_of_any_other(db: Engine) -> None:
    # The tests that count a read's statements and explain each one (tests/statements.py) listen this way.
    with Statements(db) as seen, db.begin() as conn:
        _ADD.execute_many(conn, [{"id": "one", "at": AT, "data": None, "n": 1}])
        _ADD.execute_many(conn, [{"id": "two", "at": AT, "data": None, "n": 2},
                                 {"id": "six", "at": AT, "data": None, "n": 6}])
        assert _READ.first(conn, {"key": "six"}) is not None
    texts = [statement for statement, _ in seen.sent]
    assert [t.split()[0].upper() for t in texts] == ["INSERT", "INSERT", "SELECT"]
    assert len(seen.sent[1][1]) == 2  # executemany: every row's arguments
    read_with = seen.sent[2][1]  # positional (SQLite) or by name (PostgreSQL's driver)
    assert list(read_with.values() if isinstance(read_with, dict) else read_with) == ["six"]
