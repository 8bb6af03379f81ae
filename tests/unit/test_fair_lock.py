"""The writer queue's lock within a process goes to waiting threads in the order they came."""

from __future__ import annotations

import threading
import time

import pytest

from engine.storage.fair_lock import FairLock


def _until(condition: object, what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.001)


def test_a_thread_that_releases_and_asks_again_queues_behind_the_threads_already_waiting() -> None:
    lock, order = FairLock(), []
    lock.acquire()

    def waiter(name: str) -> None:
        lock.acquire()
        order.append(name)
        lock.release()

    first = threading.Thread(target=waiter, args=("first",))
    first.start()
    _until(lambda: lock.waiting() == 1, "the first waiter")
    second = threading.Thread(target=waiter, args=("second",))
    second.start()
    _until(lambda: lock.waiting() == 2, "the second waiter")
    lock.release()
    lock.acquire()  # at once, as a loop of batches would: it must come after both waiters
    order.append("again")
    lock.release()
    first.join(10)
    second.join(10)
    assert order == ["first", "second", "again"]


def test_a_free_lock_is_taken_at_once_and_released_to_no_one() -> None:
    lock = FairLock()
    lock.acquire()
    assert lock.waiting() == 0
    lock.release()
    lock.acquire()
    lock.release()


def test_releasing_a_lock_not_held_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not held"):
        FairLock().release()
