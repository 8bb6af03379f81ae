"""Create SQLAlchemy engines with the settings PortalFlow relies on, for SQLite and PostgreSQL alike.

SQLite: WAL journal (readers never block the writer), synchronous=FULL (each commit reaches the disk before it
returns: a transition staff saw succeed, a PIN shown once, an audit row, a message marked as being sent, survives a
power cut, as it does on PostgreSQL; NORMAL would be faster and could lose the newest commits), foreign keys on, a
busy timeout, and every transaction opened with BEGIN IMMEDIATE, so two writers queue for the lock up front instead
of one failing half-way when a read lock cannot be upgraded (SQLAlchemy's documented recipe for pysqlite). Before
BEGIN IMMEDIATE a writer waits its turn in `engine.storage.write_queue` (a process lock, then a lock file shared by
every process), so it never sleeps in SQLite's busy handler. Reads
that never write go through `reading(engine)`, whose transactions begin deferred and so never queue for that lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

from engine.storage.write_queue import QueuedConnection, WriterQueue

READ_ONLY = "portalflow_read_only"
WRITERS_SUFFIX = "-writers"  # the lock file beside the database that writers of every process queue on


def reading(engine: Engine) -> Engine:
    """The same engine (and pool) for transactions that only read: on SQLite they do not take the write lock.

    Never write through it: a deferred transaction that writes can fail to get the lock instead of waiting for it.
    """
    return engine.execution_options(**{READ_ONLY: True})


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, **kwargs: Any) -> Engine:
    # Statement parameters never appear in an error's text (so never in a log): they may hold personal data.
    kwargs.setdefault("hide_parameters", True)
    if not is_sqlite(url):
        return create_engine(url, pool_pre_ping=True, **kwargs)
    prefix = "sqlite:///"
    lock_file = None
    if url.startswith(prefix) and not url.endswith(":memory:"):
        path = Path(url[len(prefix):].split("?", 1)[0])
        path.parent.mkdir(parents=True, exist_ok=True)
        lock_file = path.with_name(path.name + WRITERS_SUFFIX)
    queue = WriterQueue(lock_file)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False,
                                              "factory": QueuedConnection}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event below decide when a transaction starts.
        dbapi_connection.isolation_level = None
        dbapi_connection.writer_queue = queue
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # On the driver directly: this runs once per transaction, and SQLAlchemy's execute costs more than it.
        # A reader (`reading(engine)`) begins a deferred transaction: in WAL mode it reads a snapshot and never
        # waits for, or holds up, a writer.
        driver = conn.connection.driver_connection
        if conn.get_execution_options().get(READ_ONLY, False):
            driver.execute("BEGIN")
        elif not driver.writing:  # else a write transaction begun on the driver (group commit) is taken over
            driver.begin_writing()  # waits its turn in the writer queue, then BEGIN IMMEDIATE

    return engine
