"""Writers on one SQLite file wait their turn in the process and in the kernel, never in SQLite's busy handler.

SQLite has one write lock per file. A connection that finds it taken sleeps in the busy handler and polls (steps of
up to 100 ms), so under load most of a write's time is sleep and the tail is long (issue 14 measured 88 % of
request-thread time asleep in `BEGIN IMMEDIATE`). Here every write transaction first takes a lock shared by the
process's threads and then an exclusive `flock` on a file beside the database, shared by every process on it
(`serve --workers 2`, the worker, the CLI); it is released as soon as the driver's COMMIT or ROLLBACK returns. A
waiter is woken the moment the lock is free, and the process's threads get it in the order they asked (a loop of
batches cannot take it back ahead of a waiting request). SQLite's own lock and busy handler stay underneath, for
anything that writes without going through this (another program, an old version).

Read-only transactions (`engine.storage.database.reading`) take neither.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from pathlib import Path

from engine.storage.fair_lock import FairLock
from engine.storage.process_id import process_id


class WriterQueue:
    """One per database file per process."""

    def __init__(self, lock_file: Path | None) -> None:
        self._lock_file = lock_file
        self._threads = FairLock()  # in the order they came (engine.storage.fair_lock)
        self._owner: int | None = None
        self._fd: int | None = None
        self._pid = 0

    def enter(self) -> None:
        if self._owner == threading.get_ident():
            raise RuntimeError("this thread already has a write transaction open on this SQLite database: a second "
                               "one would wait for the first forever")
        self._threads.acquire()
        try:
            fd = self._file()
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        self._owner = threading.get_ident()

    def leave(self) -> None:
        self._owner = None
        try:
            if self._fd is not None and self._pid == process_id():
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _file(self) -> int | None:
        if self._lock_file is None:
            return None
        if self._fd is None or self._pid != process_id():  # a forked child opens its own description of the file
            self._fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = process_id()
        return self._fd


class QueuedConnection(sqlite3.Connection):
    """A pysqlite connection that leaves the writer queue when its transaction ends, however it ends."""

    writer_queue: WriterQueue | None = None
    _in_queue = False

    @property
    def writing(self) -> bool:
        """True from `begin_writing` until the transaction ends: a write transaction is open on this connection."""
        return self._in_queue

    def begin_writing(self) -> None:
        assert self.writer_queue is not None
        self.writer_queue.enter()
        self._in_queue = True
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._leave()
            raise

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._leave()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._leave()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._leave()

    def _leave(self) -> None:
        if self._in_queue:
            self._in_queue = False
            assert self.writer_queue is not None
            self.writer_queue.leave()
