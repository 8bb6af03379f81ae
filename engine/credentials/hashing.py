"""The slow hash for short secrets (PINs, staff-set and staff passwords): Argon2id, verified in constant time."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError


@dataclass(frozen=True, slots=True)
class HashCost:
    """Argon2id cost. The default is OWASP's first listed Argon2id setting (19 MiB, 2 passes, 1 lane; 2026): about
    16 ms of one core here. RFC 9106's second option (64 MiB, 3 passes, 4 lanes), used before, cost ~140 ms of CPU
    spread over both cores and 64 MiB a hash: with PINs issued at the front desk, every other request shared the
    cores with it (bench-api's PIN mix: advances p99 424 ms against 116 ms alone) and each hash in flight added
    64 MiB to a worker. A PIN is also found only through a keyed digest whose key is not in the database, so a
    stolen database alone does not let anyone test guesses against these hashes. Hashes carry their own cost:
    those made at the old one still verify. Tests may lower it."""

    time_cost: int = 2
    memory_kib: int = 19456
    parallelism: int = 1


TEST_COST = HashCost(time_cost=1, memory_kib=8, parallelism=1)

# Every Argon2 computation of this process runs on this one thread, in the order asked (a queue, first come first
# served). Callers wait for it outside any transaction. One at a time per process, because each hash in flight takes
# the memory and a CPU from the process's other requests (32 PINs at once once held a worker past 1 GiB); the
# service's workers give it as many lanes as there are workers. One thread, because glibc keeps a freed 19 MiB block
# in the malloc arena of the thread that used it: hashing on the request threads left a worker at 430 MiB after a
# burst of PINs (bench-api, 40 threads), on this one it keeps one block at most.
_LANE = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argon2id")


class SecretHasher:
    """Argon2id hashing for PINs and staff-set passwords."""

    def __init__(self, cost: HashCost | None = None) -> None:
        cost = cost or HashCost()
        self._hasher = PasswordHasher(time_cost=cost.time_cost, memory_cost=cost.memory_kib,
                                      parallelism=cost.parallelism, type=Type.ID)
        self._stand_in: str | None = None

    def hash(self, secret: str) -> str:
        return _LANE.submit(self._hasher.hash, secret).result()

    def verify(self, stored: str, presented: str) -> bool:
        try:
            return bool(_LANE.submit(self._hasher.verify, stored, presented).result())
        except (VerificationError, InvalidHashError):
            return False

    def verify_nothing(self, presented: str) -> bool:
        """Cost what a `verify` costs and say no: where nothing matched (an unknown user, no PIN for that digest),
        so that the answer takes as long as a wrong one."""
        if self._stand_in is None:
            self._stand_in = self._hasher.hash(secrets.token_hex(16))
        self.verify(self._stand_in, presented)
        return False
