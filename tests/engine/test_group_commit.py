"""Group commit: many requests' writes in few transactions, each request answered only after the commit holding its
work, a failing work undone alone, and a failed commit failing its whole group with nothing written."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, column, event, insert, table, text

from engine.storage.database import make_engine, reading
from engine.storage.direct import DirectSavepoint, DirectStatement
from engine.storage.group_commit import GroupCommit


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'group.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE rows (id INTEGER PRIMARY KEY, owner TEXT NOT NULL)"))
    yield engine
    engine.dispose()


def _stored(db: Engine) -> list[str]:
    with reading(db).connect() as conn:
        return [str(owner) for owner in conn.execute(text("SELECT owner FROM rows ORDER BY id")).scalars()]


def _in_threads(count: int, body: Any) -> list[Any]:
    results: list[Any] = [None] * count
    start = threading.Barrier(count)

    def run(n: int) -> None:
        start.wait()
        try:
            results[n] = body(n)
        except Exception as error:  # the request's own error, as its caller would see it
            results[n] = error

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_thirty_two_concurrent_writers_share_few_commits_and_every_write_is_stored(db: Engine) -> None:
    group = GroupCommit(db)
    commits: list[int] = []
    event.listen(db, "commit", lambda _conn: commits.append(1))

    def write(n: int) -> int:
        def work(conn: Connection, _savepoint: DirectSavepoint | None) -> int:
            conn.execute(text("INSERT INTO rows (owner) VALUES (:o)"), {"o": f"w{n}"})
            return n
        return group.run(work)

    assert _in_threads(32, write) == list(range(32))
    assert sorted(_stored(db)) == sorted(f"w{n}" for n in range(32))
    assert group.groups == len(commits) < 32


def test_a_request_is_answered_only_after_the_commit_that_holds_its_work(db: Engine) -> None:
    group = GroupCommit(db)

    def write(n: int) -> bool:
        group.run(lambda conn, _sp: conn.execute(text("INSERT INTO rows (owner) VALUES (:o)"), {"o": f"w{n}"}))
        return f"w{n}" in _stored(db)  # read on another connection: it sees only what was committed

    assert _in_threads(16, write) == [True] * 16


def test_a_work_that_fails_is_undone_alone_and_its_error_reaches_its_own_request(db: Engine) -> None:
    group = GroupCommit(db)

    def write(n: int) -> str:
        def work(conn: Connection, _savepoint: DirectSavepoint | None) -> str:
            conn.execute(text("INSERT INTO rows (owner) VALUES (:o)"), {"o": f"w{n}"})
            if n % 3 == 0:
                raise ValueError(f"work {n} refused")
            return f"w{n}"
        return group.run(work)

    results = _in_threads(12, write)
    for n, result in enumerate(results):
        if n % 3 == 0:
            assert isinstance(result, ValueError)
            assert str(result) == f"work {n} refused"
        else:
            assert result == f"w{n}"
    assert sorted(_stored(db)) == sorted(f"w{n}" for n in range(12) if n % 3)


def test_a_commit_that_fails_fails_its_whole_group_and_writes_nothing(db: Engine) -> None:
    group = GroupCommit(db)

    def refuse_commit(_conn: Any) -> None:
        raise OSError("disk full")

    event.listen(db, "commit", refuse_commit)
    results = _in_threads(6, lambda n: group.run(
        lambda conn, _sp: conn.execute(text("INSERT INTO rows (owner) VALUES (:o)"), {"o": f"w{n}"})))
    event.remove(db, "commit", refuse_commit)
    assert all(isinstance(r, OSError) for r in results)
    assert _stored(db) == []
    assert group.run(lambda conn, _sp: conn.execute(text("INSERT INTO rows (owner) VALUES ('after')"))) is not None
    assert _stored(db) == ["after"]  # the group's failure left nothing held: the next request goes through


def _statements_of(group: GroupCommit) -> list[str]:
    """Every statement the group's long-lived connection runs from now on, as SQLite sees it."""
    seen: list[str] = []
    group.run(lambda conn, _sp: conn.connection.driver_connection.set_trace_callback(  # type: ignore[union-attr]
        seen.append))
    seen.clear()
    return seen


def test_a_work_alone_in_its_group_runs_with_no_savepoint_and_is_handed_none(db: Engine) -> None:
    group = GroupCommit(db)
    statements = _statements_of(group)
    handed: list[DirectSavepoint | None] = []

    def work(conn: Connection, savepoint: DirectSavepoint | None) -> None:
        handed.append(savepoint)
        conn.execute(text("INSERT INTO rows (owner) VALUES ('alone')"))

    group.run(work)
    assert handed == [None]
    assert not [s for s in statements if "SAVEPOINT" in s.upper()]
    assert [s.split()[0].upper() for s in statements] == ["BEGIN", "INSERT", "COMMIT"]
    assert _stored(db) == ["alone"]


def test_groups_one_after_another_reuse_one_connection_instead_of_a_checkout_each(db: Engine) -> None:
    group = GroupCommit(db)
    checkouts: list[object] = []
    event.listen(db, "checkout", lambda dbapi, _record, _proxy: checkouts.append(dbapi))
    for n in range(5):
        group.run(lambda conn, _sp, n=n: conn.execute(text("INSERT INTO rows (owner) VALUES (:o)"), {"o": f"w{n}"}))
    assert len(checkouts) == 1
    assert _stored(db) == [f"w{n}" for n in range(5)]


def test_a_work_that_failed_alone_leaves_the_long_lived_connection_usable_with_nothing_of_it_written(
        db: Engine) -> None:
    group = GroupCommit(db)

    def failing(conn: Connection, _savepoint: DirectSavepoint | None) -> None:
        conn.execute(text("INSERT INTO rows (owner) VALUES ('half')"))
        raise ValueError("refused half-way")

    with pytest.raises(ValueError, match="refused half-way"):
        group.run(failing)
    assert group.run(lambda conn, _sp: conn.execute(text("INSERT INTO rows (owner) VALUES ('next')"))) is not None
    assert _stored(db) == ["next"]
    with db.begin() as conn:  # and the writer queue was left: another connection writes too, at once
        conn.execute(text("INSERT INTO rows (owner) VALUES ('pooled')"))
    assert _stored(db) == ["next", "pooled"]


def test_disposing_the_engine_closes_the_long_lived_connection_and_a_later_group_opens_another(db: Engine) -> None:
    group = GroupCommit(db)
    held: list[Connection] = []
    group.run(lambda conn, _sp: held.append(conn))
    db.dispose()
    assert held[0].closed
    group.run(lambda conn, _sp: held.append(conn))
    assert held[1] is not held[0]


def _write_from_another_process(url: str, started: Any, written: Any) -> None:
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _no_busy_handler(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=0")  # a writer not queued would fail at once, not sleep

    started.set()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO rows (owner) VALUES ('other process')"))
    engine.dispose()
    written.set()


def test_another_process_queues_behind_a_group_on_the_long_lived_connection(db: Engine, tmp_path: Path) -> None:
    group = GroupCommit(db)
    spawn = multiprocessing.get_context("spawn")
    started, written = spawn.Event(), spawn.Event()
    other = spawn.Process(target=_write_from_another_process,
                          args=(f"sqlite:///{tmp_path / 'group.db'}", started, written))

    def work(conn: Connection, _savepoint: DirectSavepoint | None) -> bool:
        conn.execute(text("INSERT INTO rows (owner) VALUES ('this process')"))
        other.start()
        assert started.wait(60)
        return written.wait(1)  # the other process cannot write while this transaction is open

    assert group.run(work) is False
    other.join(60)
    assert other.exitcode == 0
    assert _stored(db) == ["this process", "other process"]


_ADD_ROW = DirectStatement(insert(table("rows", column("owner"))), ("owner",))


def _sqlalchemy_transactions(db: Engine) -> list[str]:
    """Every begin, commit and rollback that SQLAlchemy's own transaction machinery runs on `db` from now on."""
    seen: list[str] = []
    for name in ("begin", "commit", "rollback"):
        event.listen(db, name, lambda _conn, name=name: seen.append(name))
    return seen


def test_a_group_of_prebuilt_statements_begins_and_commits_on_the_driver_without_sqlalchemy_transactions(
        db: Engine) -> None:
    group = GroupCommit(db)
    statements = _statements_of(group)
    transactions = _sqlalchemy_transactions(db)
    group.run(lambda conn, _sp: _ADD_ROW.execute(conn, {"owner": "direct"}))
    assert transactions == []
    assert [s.split()[0].upper() for s in statements] == ["BEGIN", "INSERT", "COMMIT"]
    assert _stored(db) == ["direct"]


def test_a_lone_work_of_prebuilt_statements_that_fails_is_rolled_back_on_the_driver_and_frees_the_queue(
        db: Engine) -> None:
    group = GroupCommit(db)
    transactions = _sqlalchemy_transactions(db)

    def failing(conn: Connection, _savepoint: DirectSavepoint | None) -> None:
        _ADD_ROW.execute(conn, {"owner": "half"})
        raise ValueError("refused half-way")

    with pytest.raises(ValueError, match="refused half-way"):
        group.run(failing)
    assert transactions == []
    with db.begin() as conn:  # the writer queue was left: another connection writes at once
        conn.execute(text("INSERT INTO rows (owner) VALUES ('pooled')"))
    assert _stored(db) == ["pooled"]


def test_a_work_that_executes_through_sqlalchemy_has_the_driver_transaction_taken_over_and_committed_by_it(
        db: Engine) -> None:
    group = GroupCommit(db)
    statements = _statements_of(group)
    transactions = _sqlalchemy_transactions(db)

    def mixed(conn: Connection, _savepoint: DirectSavepoint | None) -> None:
        _ADD_ROW.execute(conn, {"owner": "direct"})
        conn.execute(text("INSERT INTO rows (owner) VALUES ('core')"))

    group.run(mixed)
    assert transactions == ["begin", "commit"]  # its commit events and bookkeeping see the transaction end
    assert [s.split()[0].upper() for s in statements] == ["BEGIN", "INSERT", "INSERT", "COMMIT"]
    assert _stored(db) == ["direct", "core"]
