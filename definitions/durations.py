"""Human-readable durations (`30d`, `12h`, `1h30m`) as designers write them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)([wdhms])")
_WHOLE = re.compile(r"(?:\d+[wdhms])+")

DURATION_HELP = "write a whole number and a unit, e.g. 30d, 12h, 90m or 1h30m (units: w d h m s)"


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
    if not _WHOLE.fullmatch(compact):
        raise BadDuration(f"bad duration '{text}': {DURATION_HELP}")
    units = [unit for _, unit in _PART.findall(compact)]
    if len(set(units)) != len(units):
        raise BadDuration(f"bad duration '{text}': each unit may appear once")
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(compact))
    if seconds <= 0:
        raise BadDuration(f"bad duration '{text}': it must be longer than zero")
    return Duration(seconds, compact)
