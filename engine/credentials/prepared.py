"""PINs drawn and hashed before a transaction opens, so the ~100 ms of Argon2id per PIN never holds the write lock.

The advancer prepares as many as the transition could issue (one per person of the enrollment, read just before)
and the PIN effect takes them inside the transaction. Should the household have grown in between, the effect
draws and hashes the missing ones in place: slower, never wrong. Unused PINs are forgotten with the stock.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.credentials.hashing import SecretHasher
from engine.credentials.pins import new_pin


@dataclass(frozen=True, slots=True)
class PreparedPin:
    pin: str
    secret_hash: str

    def __repr__(self) -> str:  # never the PIN, in a traceback or a log
        return "PreparedPin(...)"


class PinStock:
    def __init__(self, hasher: SecretHasher, count: int = 0) -> None:
        self._hasher = hasher
        self._ready = [self._draw() for _ in range(count)]

    def __len__(self) -> int:
        return len(self._ready)

    def take(self) -> PreparedPin:
        return self._ready.pop() if self._ready else self._draw()

    def _draw(self) -> PreparedPin:
        pin = new_pin()
        return PreparedPin(pin, self._hasher.hash(pin))
