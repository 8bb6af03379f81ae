"""Human-readable durations (`30d`, `12h`, `1h30m`) as designers write them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)([wdhms])")
_WHOLE = re.compile(r"(?:\d+[wdhms])+")

DURATION_HELP = "write a whole number and a unit, e.g. 30d, 12h, 90m or 1h30m (units: w d h m s)"
MAX_SECONDS = 520 * 604800  # ten years: no procedure waits longer, and timedelta stays far from its limits


class BadDuration(ValueError):
    """The text is not a duration; the message says how to write one."""


@dataclass(frozen=True, slots=True, order=True)
class Duration:
    """A positive length of time; keeps the designer's text for messages and diagrams."""

    seconds: int
    text: str

    @property
    def delta(self) -> timedelta:
        return timedelta(seconds=self.seconds)

    def __str__(self) -> str:
        return self.text


def parse_duration(text: str) -> Duration:
    compact = text.strip()
    shown = compact if len(compact) <= 40 else compact[:37] + "..."
    if not _WHOLE.fullmatch(compact):
        raise BadDuration(f"bad duration '{shown}': {DURATION_HELP}")
    parts = _PART.findall(compact)
    if len({unit for _, unit in parts}) != len(parts):
        raise BadDuration(f"bad duration '{shown}': each unit may appear once")
    if any(len(number) > 9 for number, _ in parts):  # before int(): Python refuses 4,300 digits with an error
        raise BadDuration(f"bad duration '{shown}': at most ten years (520w)")
    seconds = sum(int(n) * _UNITS[unit] for n, unit in parts)
    if seconds <= 0:
        raise BadDuration(f"bad duration '{shown}': it must be longer than zero")
    if seconds > MAX_SECONDS:
        raise BadDuration(f"bad duration '{shown}': at most ten years (520w)")
    return Duration(seconds, compact)
