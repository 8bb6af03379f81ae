"""The slow hash for short secrets (PINs, staff-set and staff passwords): Argon2id, verified in constant time."""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError


@dataclass(frozen=True, slots=True)
class HashCost:
    """Argon2id cost. The default follows RFC 9106's second recommended option; tests may lower it."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4


TEST_COST = HashCost(time_cost=1, memory_kib=8, parallelism=1)

# At most one Argon2 computation per CPU at a time in this process: 32 PINs asked for at once would otherwise hold
# 32 x 64 MiB (measured: a worker past 1 GiB) and share the CPUs so that each took 32 times as long. Callers queue
# here instead, outside any transaction, and each hash finishes at full speed.
_CPUS = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))


class SecretHasher:
    """Argon2id hashing for PINs and staff-set passwords."""

    def __init__(self, cost: HashCost | None = None) -> None:
        cost = cost or HashCost()
        self._hasher = PasswordHasher(time_cost=cost.time_cost, memory_cost=cost.memory_kib,
                                      parallelism=cost.parallelism, type=Type.ID)
        self._stand_in: str | None = None

    def hash(self, secret: str) -> str:
        with _CPUS:
            return self._hasher.hash(secret)

    def verify(self, stored: str, presented: str) -> bool:
        try:
            with _CPUS:
                return bool(self._hasher.verify(stored, presented))
        except (VerificationError, InvalidHashError):
            return False

    def verify_nothing(self, presented: str) -> bool:
        """Cost what a `verify` costs and say no: where nothing matched (an unknown user, no PIN for that digest),
        so that the answer takes as long as a wrong one."""
        if self._stand_in is None:
            self._stand_in = self._hasher.hash(secrets.token_hex(16))
        self.verify(self._stand_in, presented)
        return False
