"""What the sweep decides for one due timer is said in words that name the timer and the minute it fell due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from definitions.durations import Duration
from definitions.errors import Position
from definitions.model import LatePolicy, Timer
from engine.calendars.site_calendar import Opening
from engine.timers.decision import Fire, decide
from engine.timers.rows import Claim

NOW = datetime(2026, 3, 2, 14, 10, 30, tzinfo=UTC)
_LATE_AFTER = timedelta(minutes=15)


def _timer(timer_id: str) -> Timer:
    return Timer(timer_id, "issued", Duration(86400, "1d"), None, "expire", False, LatePolicy.FIRE, None,
                 Position("w.yaml", 1, 1))


def _decide(timer_id: str, due: datetime) -> Fire:
    def never() -> Opening:
        raise AssertionError("a timer without opening hours never asks the calendar")

    decision = decide(Claim(1, "e1", timer_id, "expire", due, 0), _timer(timer_id), NOW, _LATE_AFTER, never)
    assert isinstance(decision, Fire)
    return decision


def test_timers_due_in_one_minute_are_fired_in_the_words_of_their_own_timer_and_minute() -> None:
    assert _decide("expire", NOW.replace(second=1)) == Fire("timer 'expire' due 2026-03-02 14:10 UTC", None)
    assert _decide("expire", NOW.replace(second=59, microsecond=9)) == Fire(
        "timer 'expire' due 2026-03-02 14:10 UTC", None)
    assert _decide("resend", NOW.replace(second=2)).reason == "timer 'resend' due 2026-03-02 14:10 UTC"
    assert _decide("expire", NOW.replace(minute=9)).reason == "timer 'expire' due 2026-03-02 14:09 UTC"


def test_an_equal_time_in_another_zone_is_said_as_the_time_it_was_given() -> None:
    here = NOW.replace(second=0)
    there = here.astimezone(timezone(timedelta(hours=-5)))
    assert here == there
    assert _decide("expire", here).reason == "timer 'expire' due 2026-03-02 14:10 UTC"
    assert _decide("expire", there).reason == "timer 'expire' due 2026-03-02 09:10 UTC"


def test_a_late_firing_says_how_late_to_the_minute() -> None:
    assert _decide("expire", NOW - timedelta(minutes=75, seconds=20)) == Fire(
        "timer 'expire' due 2026-03-02 12:55 UTC, fired 1 h 15 min late", "fired 1 h 15 min late")
