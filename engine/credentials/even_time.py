"""Refusals that all take the same time: a refused presentation answers no sooner than a fixed time after it
arrived, so the caller cannot tell by the clock which refusal it was.

An unknown link is refused after one counted write; a used or expired one also notes why on its enrollment's
history (a chain append and a hash), about a millisecond more. PIN and password failures are dominated by their
one Argon2 verification, which every path runs, so only links need the floor. Sleeping out the rest of a fixed
floor (rather than padding the short path with a dummy write) evens every refused path at once, whatever is added
to one of them later, and writes nothing that is not true.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from engine.errors import CredentialRefused

LINK_REFUSAL_FLOOR = 0.025  # seconds: well above a refused link's own cost (1 to 3 ms), unnoticeable to a person


@contextmanager
def refusals_take_at_least(seconds: float, sleep: Callable[[float], None] = time.sleep,
                           clock: Callable[[], float] = time.monotonic) -> Iterator[None]:
    """Run the block; if it refuses the credential, wait out whatever is left of `seconds` before re-raising."""
    started = clock()
    try:
        yield
    except CredentialRefused:
        left = started + seconds - clock()
        if left > 0:
            sleep(left)
        raise
