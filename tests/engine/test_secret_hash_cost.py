"""The production cost of the slow hash for PINs and passwords, and hashes made at an earlier cost."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher, Type

from engine.credentials.hashing import SecretHasher


def test_a_pin_hash_at_the_production_cost_is_argon2id_with_19_mib_two_passes_and_one_lane() -> None:
    stored = SecretHasher().hash("K7PQ2MWZ")

    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert "K7PQ2MWZ" not in stored


def test_a_hash_made_at_the_earlier_cost_still_verifies_and_still_refuses_a_wrong_secret() -> None:
    earlier = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4, type=Type.ID).hash("K7PQ2MWZ")
    hasher = SecretHasher()

    assert hasher.verify(earlier, "K7PQ2MWZ") is True
    assert hasher.verify(earlier, "K7PQ2MWX") is False


class _Recording:
    """Stands in for argon2's PasswordHasher: notes on which thread each hash runs and how many run at once."""

    def __init__(self) -> None:
        self.threads: set[str] = set()
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def hash(self, secret: str) -> str:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.threads.add(threading.current_thread().name)
        time.sleep(0.005)  # long enough for the other callers to arrive while this one runs
        with self._lock:
            self.in_flight -= 1
        return f"hashed:{secret}"


def test_secrets_asked_for_at_once_are_hashed_one_at_a_time_on_one_thread_and_each_caller_gets_its_own() -> None:
    hasher = SecretHasher()
    recording = _Recording()
    hasher._hasher = recording  # type: ignore[assignment]

    with ThreadPoolExecutor(max_workers=8) as callers:
        answers = list(callers.map(hasher.hash, [f"S{i}" for i in range(16)]))

    assert answers == [f"hashed:S{i}" for i in range(16)]
    assert recording.most_in_flight == 1
    assert len(recording.threads) == 1
    assert next(iter(recording.threads)).startswith("argon2id")
