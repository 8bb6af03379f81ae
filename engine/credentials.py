"""PINs and access-link tokens, generated, stored and checked as DESIGN.md's security rules require.

PINs: 8 symbols from a 32-symbol alphabet without look-alikes (40 bits) drawn with `secrets`, stored only as an
Argon2id hash, shown once. Link tokens: 256 bits from `secrets`, stored only as SHA-256 (a fast hash is enough
for a 256-bit random value, and it allows lookup by digest). Comparisons are constant time (Argon2's verify,
`hmac.compare_digest`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

PIN_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
PIN_LENGTH = 8
PIN_BITS = PIN_LENGTH * 5
MAX_PIN_FAILURES = 100
LINK_TOKEN_BYTES = 32


def new_pin() -> str:
    return "".join(secrets.choice(PIN_ALPHABET) for _ in range(PIN_LENGTH))


def normalise_pin(text: str) -> str:
    """People type PINs with spaces, dashes and lower case; O/I/0/1 never occur, so map them to nothing."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def format_pin(pin: str) -> str:
    """Shown as two groups of four, easier to read aloud and to type."""
    return f"{pin[:4]}-{pin[4:]}"


def new_link_token() -> str:
    return secrets.token_urlsafe(LINK_TOKEN_BYTES)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True, slots=True)
class HashCost:
    """Argon2id cost. The default follows RFC 9106's second recommended option; tests may lower it."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4


TEST_COST = HashCost(time_cost=1, memory_kib=8, parallelism=1)


class SecretHasher:
    """Argon2id hashing for PINs and staff-set passwords."""

    def __init__(self, cost: HashCost | None = None) -> None:
        cost = cost or HashCost()
        self._hasher = PasswordHasher(time_cost=cost.time_cost, memory_cost=cost.memory_kib,
                                      parallelism=cost.parallelism, type=Type.ID)

    def hash(self, secret: str) -> str:
        return self._hasher.hash(secret)

    def verify(self, stored: str, presented: str) -> bool:
        try:
            return bool(self._hasher.verify(stored, presented))
        except (VerificationError, InvalidHashError):
            return False
