"""Argon2 runs at most once per CPU at a time in a process: concurrent PIN requests queue instead of each holding
64 MiB and a thin share of the CPUs."""

from __future__ import annotations

import os
import threading
import time

from engine.credentials.hashing import TEST_COST, SecretHasher


def test_no_more_argon2_computations_run_at_once_than_there_are_cpus() -> None:
    hasher = SecretHasher(TEST_COST)
    inner = hasher._hasher
    running, most = 0, 0
    lock = threading.Lock()

    class Tracking:
        def hash(self, secret: str) -> str:
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.02)
            with lock:
                running -= 1
            return str(inner.hash(secret))

    hasher._hasher = Tracking()  # type: ignore[assignment]
    threads = [threading.Thread(target=hasher.hash, args=(f"pin-{n}",)) for n in range(4 * (os.cpu_count() or 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == (os.cpu_count() or 1)
