"""Reads through `reading(engine)` on SQLite neither wait for a writer nor hold one up."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

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
    with db.begin() as first:
        first.execute(text("INSERT INTO t VALUES (1)"))
        started = time.monotonic()
        with db.connect() as second:
            second.connection.driver_connection.execute("PRAGMA busy_timeout=200")  # wait 0.2 s, not 30
            with pytest.raises((OperationalError, sqlite3.OperationalError), match="locked"), second.begin():
                second.execute(text("SELECT 1"))
        assert time.monotonic() - started >= 0.15
    db.dispose()
