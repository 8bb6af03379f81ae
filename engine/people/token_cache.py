"""Bearer tokens recognised a moment ago, kept in the process for a few seconds, so that an authenticated request
needs no database read (issue 14: the lookup was a pool checkout and two queries on every request).

The bound, which is the whole contract: a change made through this process (tokens revoked, a password set, a
role or sites changed, a sign-out) empties the cache at once (`Users` does it); a change made by another process
(the CLI, the other worker) takes effect within `seconds`. A token's own expiry is still checked on every use, on
the clock, so it ends exactly when it says. An entry is keyed by the token's digest, never the token. Refusals are
never kept: an unknown token must not fill memory, and a token issued a moment ago must work at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from engine.people.identity import User

SECONDS = 5.0  # how long a change made in another process may go unseen here
SIZE = 10_000  # tokens kept at most; the oldest leaves first


@dataclass(frozen=True, slots=True)
class Recognised:
    user: User
    expires_at: datetime | None  # the token's own end (UTC), checked on every use
    seen: float  # `ticks()` when it was read from the database


class TokenCache:
    def __init__(self, seconds: float = SECONDS, *, ticks: Callable[[], float] = time.monotonic,
                 size: int = SIZE) -> None:
        """`ticks`: a monotonic clock in seconds (the wall clock may jump; the bound must not)."""
        self.seconds, self._ticks, self._size = seconds, ticks, size
        self._kept: dict[str, Recognised] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> Recognised | None:
        """What the database said about the token, if it said it less than `seconds` ago."""
        found = self._kept.get(digest)
        if found is None:
            return None
        if self._ticks() - found.seen >= self.seconds:
            with self._lock:
                if self._kept.get(digest) is found:
                    del self._kept[digest]
            return None
        return found

    def keep(self, digest: str, user: User, expires_at: datetime | None) -> None:
        if self.seconds <= 0:
            return
        with self._lock:
            self._kept.pop(digest, None)  # re-inserted last: the order is the order seen
            while len(self._kept) >= self._size:
                del self._kept[next(iter(self._kept))]
            self._kept[digest] = Recognised(user, expires_at, self._ticks())

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
