"""The keyed lookup digest of a PIN, so a presented PIN finds its one row without an Argon2 check per open PIN.

HMAC-SHA256 over the birth date and the PIN, under a key kept outside the database (`var/pin-lookup.key` beside the
outbox key, made on first use; back it up with the database): someone who reads the database alone cannot test
PIN guesses against the digests, and the slow salted hash stays the check that a row's PIN is the one presented.
Without the key, no open PIN can be found: a restored database needs the key file saved with it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date
from pathlib import Path
from typing import Protocol

from engine.storage.key_files import key_from_file

KEY_BYTES = 32
PIN_KEY_FILE = "pin-lookup.key"  # beside the outbox key


class PinLookup(Protocol):
    def digest(self, birth_date: date, pin: str) -> str: ...


class KeyedPinLookup:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def digest(self, birth_date: date, pin: str) -> str:
        message = f"portalflow pin\n{birth_date.isoformat()}\n{pin}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


def derived_lookup(secret: bytes) -> KeyedPinLookup:
    """A lookup whose key is derived from another secret (tests and simulations, which keep no key files)."""
    return KeyedPinLookup(hashlib.sha256(b"portalflow pin lookup\n" + secret).hexdigest().encode("ascii"))


class KeyFilePinLookup:
    """A `KeyedPinLookup` whose key is read from (or, the first time, made in) a file when first needed."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lookup: KeyedPinLookup | None = None

    def digest(self, birth_date: date, pin: str) -> str:
        if self._lookup is None:
            key = key_from_file(self._path, lambda: secrets.token_hex(KEY_BYTES).encode("ascii"))
            self._lookup = KeyedPinLookup(key)
        return self._lookup.digest(birth_date, pin)
