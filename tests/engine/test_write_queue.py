"""Writers on one SQLite file queue in the process and across processes: with SQLite's busy handler turned off
(busy_timeout 0: a writer that found the lock taken would fail at once), many concurrent writers all succeed."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from engine.storage.database import make_engine, reading

WRITES = 40


def _without_busy_handler(url: str) -> Engine:
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _no_waiting_in_sqlite(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    return engine


def _count_up(url: str, writes: int) -> None:
    engine = _without_busy_handler(url)
    try:
        for _ in range(writes):
            with engine.begin() as conn:
                value = conn.execute(text("SELECT n FROM counter")).scalar_one()
                conn.execute(text("UPDATE counter SET n = :n"), {"n": value + 1})
    finally:
        engine.dispose()


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
    engine.dispose()
    return url


def _total(url: str) -> int:
    engine = make_engine(url)
    try:
        with reading(engine).connect() as conn:
            return int(conn.execute(text("SELECT n FROM counter")).scalar_one())
    finally:
        engine.dispose()


def test_eight_threads_writing_at_once_never_meet_a_busy_database_and_lose_no_update(url: str) -> None:
    engine = _without_busy_handler(url)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(WRITES):
                with engine.begin() as conn:
                    value = conn.execute(text("SELECT n FROM counter")).scalar_one()
                    conn.execute(text("UPDATE counter SET n = :n"), {"n": value + 1})
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    assert errors == []
    assert _total(url) == 8 * WRITES


def test_three_processes_on_one_file_queue_on_its_lock_file(url: str) -> None:
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_count_up, args=(url, WRITES)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert _total(url) == 3 * WRITES
    assert Path(url.removeprefix("sqlite:///") + "-writers").exists()


def test_a_failed_transaction_leaves_the_queue_for_the_next_writer(url: str) -> None:
    engine = _without_busy_handler(url)
    def failing_transaction() -> None:
        with engine.begin() as conn:
            conn.execute(text("UPDATE counter SET n = 99"))
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        failing_transaction()
    with engine.begin() as conn:  # would wait forever if the rollback had kept its place
        conn.execute(text("UPDATE counter SET n = n + 1"))
    engine.dispose()
    assert _total(url) == 1


def test_a_second_write_transaction_in_the_same_thread_is_refused_at_once_instead_of_waiting_forever(
        url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as outer:
        outer.execute(text("UPDATE counter SET n = 1"))
        with pytest.raises(RuntimeError, match="already has a write transaction open"), engine.begin() as inner:
            inner.execute(text("SELECT 1"))
    engine.dispose()
    assert _total(url) == 1


def test_readers_do_not_wait_for_a_writer(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as writer:
        writer.execute(text("UPDATE counter SET n = 5"))
        read: list[int] = []
        reader = threading.Thread(target=lambda: read.append(_total(url)))
        reader.start()
        reader.join(10)
        assert read == [0]  # the snapshot before the writer's commit, read while it held the queue
    engine.dispose()
