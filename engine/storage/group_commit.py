"""Group commit for SQLite: the writes of several requests in one transaction, flushed to the disk once.

SQLite commits one transaction at a time and, with `synchronous=FULL`, each commit waits for the disk: that flush,
not the work, bounds how many writes a second one file takes, and queued writers wait for every flush ahead of
them. Here a request hands its work (a function of the connection and of its savepoint) to `GroupCommit.run`. The
first to arrive leads: it opens one write transaction, runs every work waiting at that moment (its own first), each
in its own savepoint (handed to the work, which may end it early), commits once, and only then hands every request
its result. Whoever arrived meanwhile forms the next group, led by
its first arrival. Nobody is answered before the commit that holds their work; a work that raises is rolled back
to its savepoint alone and its error re-raised in its own request; a failed commit fails the whole group, and
nothing of it was written.

Each work is judged in the order it arrived, on what the works before it in the group wrote, exactly as if the
transactions had run one after another (they hold the one write lock together).

What a group costs beyond its work, since every advance on SQLite comes through here (issue 14 measured a pool
checkout, begin, commit and close at several times the transition's own statements):
- One long-lived connection (`Writer`), not a pool checkout and close per group: only the leader uses it, and
  groups lead one at a time. It still begins through the writer queue (`engine.storage.write_queue`), so it waits
  its turn with every other writer of the process and of the other processes on the file.
- The transaction is begun and committed on the driver (`QueuedConnection.begin_writing`, `commit`), not through
  SQLAlchemy's `Transaction` (its events, bookkeeping and begin hook cost ~11 µs of a ~90 µs advance on tmpfs).
  Works that use only prebuilt statements (`engine.storage.direct`) never wake SQLAlchemy's transaction at all;
  a work's `Connection.execute` makes SQLAlchemy take the open transaction over (the engine's begin hook sees the
  driver already writing and begins nothing), and the group then ends it through SQLAlchemy, so its commit and
  rollback events and its bookkeeping see the end as before.
- A group of one (a quiet moment, a single-threaded caller) opens no savepoint (its work is handed None): if the
  work raises, rolling the whole transaction back undoes exactly that work. On SQLite a savepoint is not free: the
  first change of each page under it copies the page to a statement journal.
- A request that leads at once never waits, so it makes no `threading.Event`.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine, event

from engine.storage.direct import DirectSavepoint
from engine.storage.process_id import process_id

T = TypeVar("T")
# A request's work: it writes on the connection; the savepoint is its own (None when it is alone in its group), and
# it may roll it back itself (`DirectSavepoint.rollback`) to keep something written after it, such as a note.
Work = Callable[[Connection, DirectSavepoint | None], T]
MAX_GROUP = 64  # a bound on how long the last of a group waits for the works before it


@dataclass(eq=False, slots=True)
class _Work(Generic[T]):
    run: Work[T]
    woken: threading.Event | None = None  # made only for a request that waits for a leader
    leads: bool = False
    finished: bool = False
    value: T | None = None
    error: BaseException | None = None

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # set by a successful run, which may return None


class Writer:
    """The process's long-lived write connection to one SQLite file, used by one caller at a time (a group's
    leader). Made on first use, made again after a fork (a child never shares its parent's SQLite connection) or
    when SQLAlchemy invalidated it, and closed when the engine is disposed."""

    def __init__(self, db: Engine) -> None:
        self._db = db
        self._conn: Connection | None = None
        self._pid = 0
        event.listen(db, "engine_disposed", self._on_disposed)

    def connection(self) -> Connection:
        conn = self._conn
        if conn is None or self._pid != process_id() or conn.closed or conn.invalidated:
            if conn is not None and self._pid == process_id():
                conn.close()  # invalidated: give its slot back to the pool
            conn = self._conn = self._db.connect()
            self._pid = process_id()
        return conn

    def settle(self) -> None:
        """After a failed group: no transaction left open on the driver, so that the connection and the writer
        queue are free for the next group. (SQLAlchemy rolls back a transaction whose work raised, but a commit
        refused before it reached the driver, by a commit hook, leaves the driver's transaction open.) A
        connection that cannot even roll back is dropped; the next group makes a new one."""
        conn = self._conn
        if conn is None or self._pid != process_id() or conn.closed or conn.invalidated:
            return
        try:
            if conn.in_transaction():
                conn.rollback()
            driver = conn.connection.driver_connection
            if driver is not None and driver.in_transaction:
                driver.rollback()
        except Exception:
            conn.invalidate()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and self._pid == process_id():
            conn.close()

    def _on_disposed(self, _engine: Engine) -> None:
        self.close()


class GroupCommit:
    def __init__(self, db: Engine, max_group: int = MAX_GROUP) -> None:
        self._writer, self._max = Writer(db), max_group
        self._mutex = threading.Lock()
        self._waiting: deque[_Work[object]] = deque()
        self._led = False
        self.groups = 0  # how many commits ran (for tests and benches)

    def run(self, work: Work[T]) -> T:
        """`work`'s result once the commit holding its writes returned; its error, with its writes undone."""
        item: _Work[T] = _Work(work)
        with self._mutex:
            self._waiting.append(item)  # type: ignore[arg-type]
            if self._led:
                item.woken = threading.Event()
            else:
                self._led = item.leads = True
        if item.woken is not None:
            item.woken.wait()
        if not item.finished:
            self._lead()
        return item.outcome()

    def close(self) -> None:
        """Close the long-lived connection (the engine's `dispose` does it too)."""
        self._writer.close()

    def _lead(self) -> None:
        with self._mutex:
            group = [self._waiting.popleft() for _ in range(min(self._max, len(self._waiting)))]
        try:
            self._commit(group)
        finally:
            with self._mutex:
                if self._waiting:  # the next group is led by its first arrival
                    following = self._waiting[0]
                    following.leads = True
                    assert following.woken is not None  # it arrived while this group was led
                    following.woken.set()
                else:
                    self._led = False
            for item in group:
                item.finished = True
                if item.woken is not None:
                    item.woken.set()

    def _commit(self, group: list[_Work[object]]) -> None:
        try:
            conn = self._writer.connection()
            driver: Any = conn.connection.dbapi_connection  # a QueuedConnection (engine.storage.database)
            driver.begin_writing()
            try:
                if len(group) == 1:  # alone: a failure rolls the transaction back, which undoes this work alone
                    group[0].value = group[0].run(conn, None)
                else:
                    for item in group:
                        _run_in_group(conn, item)
            except BaseException:
                _end(conn, commit=False)
                raise
            _end(conn, commit=True)
            self.groups += 1
        except Exception as error:  # the commit failed (or the lone work did): nothing of the group was written
            self._writer.settle()
            for item in group:
                item.value, item.error = None, error


def _end(conn: Connection, *, commit: bool) -> None:
    """End the transaction begun on the driver: through SQLAlchemy when a work's `Connection.execute` made it take
    the transaction over (its events and bookkeeping then see the end), else on the driver directly."""
    transaction = conn.get_transaction()
    if transaction is None:
        driver: Any = conn.connection.dbapi_connection
        if commit:
            driver.commit()
        else:
            driver.rollback()
        return
    try:
        if commit:
            transaction.commit()
        else:
            transaction.rollback()
    except BaseException:
        transaction.rollback()  # a failed commit leaves SQLAlchemy's transaction to be closed, as `with begin()` did
        raise


def _run_in_group(conn: Connection, item: _Work[object]) -> None:
    savepoint = DirectSavepoint(conn, "pf_group")
    try:
        item.value = item.run(conn, savepoint)
    except Exception as error:  # handed back to the request it belongs to
        savepoint.rollback()
        item.error = error
    else:
        savepoint.release()  # nothing when the work ended it itself
