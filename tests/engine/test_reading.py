"""Reads through `reading(engine)` on SQLite neither wait for a writer nor hold one up."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import text

from engine.storage.database import make_engine, reading


def test_a_reader_reads_the_last_commit_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    db = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    with db.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    with db.begin() as writer:
        writer.execute(text("UPDATE t SET n = 2"))
        started = time.monotonic()
        with reading(db).connect() as reader:
            assert reader.execute(text("SELECT n FROM t")).scalar_one() == 1
            # ... and the writer commits while the reader's snapshot is still open.
        assert time.monotonic() - started < 1.0
    with reading(db).connect() as reader:
        assert reader.execute(text("SELECT n FROM t")).scalar_one() == 2
    db.dispose()


def test_a_writer_still_waits_for_another_writer(tmp_path: Path) -> None:
    db = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with db.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    waited: list[float] = []

    def second_writer() -> None:
        started = time.monotonic()
        with db.begin() as second:  # queues behind the first (engine.storage.write_queue)
            waited.append(time.monotonic() - started)
            second.execute(text("INSERT INTO t VALUES (2)"))

    with db.begin() as first:
        first.execute(text("INSERT INTO t VALUES (1)"))
        other = threading.Thread(target=second_writer)
        other.start()
        time.sleep(0.2)
        assert waited == []  # still waiting while the first holds the lock
    other.join(10)
    assert waited[0] >= 0.15
    with reading(db).connect() as conn:
        assert conn.execute(text("SELECT n FROM t ORDER BY n")).scalars().all() == [1, 2]
    db.dispose()
