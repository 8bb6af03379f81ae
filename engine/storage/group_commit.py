"""Group commit for SQLite: the writes of several requests in one transaction, flushed to the disk once.

SQLite commits one transaction at a time and, with `synchronous=FULL`, each commit waits for the disk: that flush,
not the work, bounds how many writes a second one file takes, and queued writers wait for every flush ahead of
them. Here a request hands its work (a function of the connection) to `GroupCommit.run`. The first to arrive leads:
it opens one write transaction, runs every work waiting at that moment (its own first), each in its own savepoint,
commits once, and only then hands every request its result. Whoever arrived meanwhile forms the next group, led by
its first arrival. Nobody is answered before the commit that holds their work; a work that raises is rolled back
to its savepoint alone and its error re-raised in its own request; a failed commit fails the whole group, and
nothing of it was written.

Each work is judged in the order it arrived, on what the works before it in the group wrote, exactly as if the
transactions had run one after another (they hold the one write lock together).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy import Connection, Engine

from engine.storage.direct import DirectSavepoint

T = TypeVar("T")
MAX_GROUP = 64  # a bound on how long the last of a group waits for the works before it


@dataclass(eq=False)
class _Work(Generic[T]):
    run: Callable[[Connection], T]
    woken: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    finished: bool = False
    value: T | None = None
    error: BaseException | None = None

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # set by a successful run, which may return None


class GroupCommit:
    def __init__(self, db: Engine, max_group: int = MAX_GROUP) -> None:
        self._db, self._max = db, max_group
        self._mutex = threading.Lock()
        self._waiting: deque[_Work[object]] = deque()
        self._led = False
        self.groups = 0  # how many commits ran (for tests and benches)

    def run(self, work: Callable[[Connection], T]) -> T:
        item: _Work[T] = _Work(work)
        with self._mutex:
            self._waiting.append(item)  # type: ignore[arg-type]
            if not self._led:
                self._led = item.leads = True
        if not item.leads:
            item.woken.wait()
        if not item.finished:
            self._lead()
        return item.outcome()

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
                    following.woken.set()
                else:
                    self._led = False
            for item in group:
                item.finished = True
                item.woken.set()

    def _commit(self, group: list[_Work[object]]) -> None:
        try:
            with self._db.begin() as conn:
                for item in group:
                    savepoint = DirectSavepoint(conn, "pf_group")
                    try:
                        item.value = item.run(conn)
                    except Exception as error:  # handed back to the request it belongs to
                        savepoint.rollback()
                        item.error = error
                    else:
                        savepoint.release()
            self.groups += 1
        except Exception as error:  # the commit failed: nothing of the group was written
            for item in group:
                item.value, item.error = None, error
