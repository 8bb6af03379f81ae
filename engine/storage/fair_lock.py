"""A lock that goes to its waiters in the order they came: the writer queue's turn within one process.

`threading.Lock` is not fair: a thread that releases it and asks again at once (an import committing batch after
batch, the sweep firing batch after batch) usually takes it back before a waiting thread is even scheduled, so a
clerk's save waited for two or more batches instead of one (bench/imports.py: up to 464 ms behind batches that end
after 250 ms). Here `release` hands the lock straight to the longest waiter, and a thread that asks again queues
behind it. Written by hand because the standard library has no fair lock and this is a dozen lines.
"""

from __future__ import annotations

import threading
from collections import deque


class FairLock:
    def __init__(self) -> None:
        self._guard = threading.Lock()  # held only for a few lines, never while waiting
        self._waiting: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self) -> None:
        with self._guard:
            if not self._held:
                self._held = True
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        turn.acquire()  # released by `release` when it is this thread's turn: the lock is then this thread's

    def release(self) -> None:
        with self._guard:
            if not self._held:
                raise RuntimeError("release of a FairLock that is not held")
            if self._waiting:
                self._waiting.popleft().release()  # handed over: it stays held, by the next in line
            else:
                self._held = False

    def waiting(self) -> int:
        """How many threads are waiting for it now."""
        with self._guard:
            return len(self._waiting)
