"""What to do with one due timer, decided before anything is written: fire it, wait for opening hours, or skip it
as too late — each with the words its history and its row will carry. Pure: the clock and calendar are inputs.

- fire: the trigger goes through the engine as the system (a late firing says how late);
- defer: an `opening_hours` timer found the site closed (a closure added since it was armed, or a late firing at
  night): it waits for the next opening moment and says so;
- skip: it came more than `late_after` after it fell due (nothing was running) and its late policy is `skip`.
A firing that fails is retried with backoff (`after_failure`) and, after `max_attempts`, left for an operator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache

from definitions.model import LatePolicy, Timer
from engine.calendars.site_calendar import Opening
from engine.timers.rows import Claim


@dataclass(frozen=True, slots=True)
class Fire:
    reason: str  # the transition's reason in the history: which timer, due when, how late
    note: str | None  # on the timer row: how late it fired, when it did


@dataclass(frozen=True, slots=True)
class Defer:
    until: datetime
    why: str


@dataclass(frozen=True, slots=True)
class Skip:
    why: str


Decision = Fire | Defer | Skip


def decide(claim: Claim, timer: Timer, now: datetime, late_after: timedelta,
           opening: Callable[[], Opening]) -> Decision:
    if timer.opening_hours:
        next_open = opening()
        if next_open.deferred:
            return Defer(next_open.at, f"waits for opening hours: next firing {next_open.explain()}")
    lateness = now - claim.due_at
    late = lateness > late_after
    if late and timer.late is LatePolicy.SKIP:
        return Skip(f"due {_minute(claim.due_at)} UTC, found {in_words(lateness)} late; late policy: skip")
    if late:
        when = f"timer '{claim.timer_id}' due {_minute(claim.due_at)} UTC"
        return Fire(f"{when}, fired {in_words(lateness)} late", f"fired {in_words(lateness)} late")
    due = claim.due_at
    return _on_time(claim.timer_id, due.replace(second=0, microsecond=0), due.tzinfo)


@lru_cache(maxsize=256)
def _on_time(timer_id: str, minute: datetime, _zone: tzinfo | None) -> Fire:
    """An on-time firing's words, made once per timer and due minute: a sweep fires thousands due in one minute,
    and the words depend on nothing else. (The zone is part of the key: equal times in two zones print apart.)"""
    return Fire(f"timer '{timer_id}' due {_minute(minute)} UTC", None)


def after_failure(claim: Claim, error: Exception, now: datetime, *, max_attempts: int,
                  retry_after: timedelta) -> tuple[int, str, datetime | None]:
    """(attempts, what the row says, when to try again — None: give up, for an operator)."""
    attempts = claim.attempts + 1
    detail = f"attempt {attempts} failed: {first_line(error)}"
    return attempts, detail, None if attempts >= max_attempts else now + retry_after * 2 ** (attempts - 1)


def _minute(at: datetime) -> str:
    """`f"{at:%Y-%m-%d %H:%M}"`, without strftime's cost on every firing (the sweep decides each due timer)."""
    return at.isoformat(" ", "minutes")[:16] if at.year >= 1000 else f"{at:%Y-%m-%d %H:%M}"


def in_words(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours < 48 else f"{hours // 24} days {hours % 24} h"


def first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:300] if text else ''}"
