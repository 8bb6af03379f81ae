"""Identifiers the engine makes for the rows it creates: enrollments, credentials, portal accounts.

New ids are time-ordered (UUIDv7, RFC 9562): 48 bits of Unix milliseconds, then 74 random bits from `secrets`.
Why: rows made together get neighbouring keys, so the indexes that hold them (an enrollment, its audit chain, its
timers) stay dense and the sweep's writes to rows armed together land on neighbouring pages instead of one random
page each. The random part keeps an id unguessable from its neighbours; the timestamp says only when the row was
made, which its own columns say anyway. Rows made before keep their (random, uuid4) ids: both are 32 hex digits.
"""

from __future__ import annotations

import secrets
import time

_MS_BITS = 48
_RANDOM_A_BITS, _RANDOM_B_BITS = 12, 62
_VERSION, _VARIANT = 0x7, 0b10


def new_id(at_ms: int | None = None) -> str:
    """A new 128-bit id as 32 hex digits: time-ordered, unguessable in its 74 random bits, unique without asking
    the database. `at_ms` (Unix milliseconds) stands in for now: for data made as if at another time."""
    millis = (time.time_ns() // 1_000_000 if at_ms is None else at_ms) & ((1 << _MS_BITS) - 1)
    random_bits = secrets.randbits(_RANDOM_A_BITS + _RANDOM_B_BITS)
    value = (millis << 80 | _VERSION << 76 | (random_bits >> _RANDOM_B_BITS) << 64 | _VARIANT << 62
             | random_bits & ((1 << _RANDOM_B_BITS) - 1))
    return f"{value:032x}"
