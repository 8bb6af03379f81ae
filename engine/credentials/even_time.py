"""Refusals that all take the same time: a refused presentation answers no sooner than a fixed time after it
arrived, so the caller cannot tell by the clock which refusal it was.

An unknown link is refused after one counted write; a used or expired one also notes why on its enrollment's
history (a chain append and a hash), about a millisecond more. PIN and password failures each run one Argon2
verification (~16 ms at the production cost) and then differ by their writes (1 to 10 ms: a count, or a note on a
history, or a locked PIN's): once the hash cost ~140 ms that difference hid in it, at ~16 ms it shows (bench
failure_timing: sign-in 1.091x, PIN 1.078x, against a 10 % bound), so they have a floor too. Sleeping out the rest
of a fixed floor (rather than padding the short path with a dummy write) evens every refused path at once,
whatever is added to one of them later, and writes nothing that is not true.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from engine.errors import AuthenticationFailed, CredentialRefused

LINK_REFUSAL_FLOOR = 0.025  # seconds: well above a refused link's own cost (1 to 3 ms), unnoticeable to a person
PIN_REFUSAL_FLOOR = 0.060  # over twice a refused PIN's own cost (one Argon2 check, one short write: ~21 ms)
SIGN_IN_REFUSAL_FLOOR = 0.060  # the same for a refused password: one Argon2 check and one short write


@contextmanager
def refusals_take_at_least(seconds: float, sleep: Callable[[float], None] = time.sleep,
                           clock: Callable[[], float] = time.monotonic) -> Iterator[None]:
    """Run the block; if it refuses the credential (or a sign-in), wait out whatever is left of `seconds` before
    re-raising."""
    started = clock()
    try:
        yield
    except (CredentialRefused, AuthenticationFailed):
        left = started + seconds - clock()
        if left > 0:
            sleep(left)
        raise
