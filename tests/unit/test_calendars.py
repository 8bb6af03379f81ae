"""A site's calendar says when auto invites may go out: opening hours in local time, holidays, closures, go-live.

The site is a New York practice open Mon-Fri 08:00-17:00 with US/NY public holidays; the DST tests use the
2026 changes (spring forward Sun 8 Mar 02:00 -> 03:00, fall back Sun 1 Nov 02:00 -> 01:00).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.calendars.site_calendar import SiteCalendar

ZONE = "America/New_York"
NY = ZoneInfo(ZONE)
Hours = Mapping[int, tuple[tuple[time, time], ...]]
WEEKDAYS: Hours = {weekday: ((time(8), time(17)),) for weekday in range(5)}
EVERY_DAY: Hours = {weekday: ((time(8), time(17)),) for weekday in range(7)}


def ny(year: int, month: int, day: int, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY, fold=fold)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def clinic(hours: Hours = WEEKDAYS, closures: Mapping[date, str] | None = None,
           go_live: date | None = None) -> SiteCalendar:
    return SiteCalendar(zone=ZONE, hours=hours, country="US", subdivision="NY", closures=closures or {},
                        go_live=go_live)


# Inside and around opening hours


def test_a_moment_inside_opening_hours_is_the_opening_itself_not_deferred() -> None:
    moment = ny(2026, 11, 24, 10, 15)
    opening = clinic().next_open(moment)
    assert opening.at == moment
    assert opening.at.tzinfo is UTC
    assert opening.local == moment
    assert not opening.deferred
    assert opening.reasons == ()
    assert opening.explain() == "open now (Tue 24 Nov 10:15 America/New_York)"
    assert clinic().is_open(moment)


def test_a_moment_at_3am_on_a_weekday_opens_at_8am_local_the_same_day() -> None:
    opening = clinic().next_open(ny(2026, 11, 24, 3))
    assert opening.at == utc(2026, 11, 24, 13)
    assert opening.local.hour == 8
    assert opening.deferred
    assert opening.reasons == ("Tue 24 Nov before opening at 08:00",)
    assert not clinic().is_open(ny(2026, 11, 24, 3))


def test_closing_time_itself_is_already_closed() -> None:
    assert clinic().is_open(ny(2026, 11, 24, 16, 59))
    assert not clinic().is_open(ny(2026, 11, 24, 17))


def test_friday_evening_waits_for_monday_morning_naming_the_closing_and_the_weekend() -> None:
    opening = clinic().next_open(ny(2026, 11, 20, 18))
    assert opening.at == utc(2026, 11, 23, 13)
    assert opening.reasons == ("Fri 20 Nov after closing at 17:00", "Sat 21 Nov, Sun 22 Nov closed",
                               "Mon 23 Nov before opening at 08:00")


def test_during_the_lunch_break_the_site_opens_again_after_lunch() -> None:
    lunch = {weekday: ((time(8), time(12)), (time(13), time(17))) for weekday in range(5)}
    opening = clinic(hours=lunch).next_open(ny(2026, 11, 24, 12, 30))
    assert opening.local == ny(2026, 11, 24, 13)
    assert opening.reasons == ("Tue 24 Nov closed between 12:00 and 13:00",)
    assert clinic(hours=lunch).is_open(ny(2026, 11, 24, 11, 59))


def test_a_moment_given_in_utc_is_read_in_the_sites_local_time() -> None:
    # 02:00 UTC on Wednesday is still Tuesday 21:00 in New York: after closing, so Wednesday 08:00.
    assert clinic().next_open(utc(2026, 11, 25, 2)).at == utc(2026, 11, 25, 13)


# Daylight saving time


def test_a_moment_at_3am_on_spring_forward_day_opens_at_8am_local_on_the_next_workday() -> None:
    opening = clinic().next_open(ny(2026, 3, 8, 3))
    assert opening.at == utc(2026, 3, 9, 12)
    assert opening.reasons == ("Sun 8 Mar closed", "Mon 9 Mar before opening at 08:00")


def test_a_site_open_every_day_opens_at_8am_daylight_time_on_spring_forward_day() -> None:
    assert clinic(hours=EVERY_DAY).next_open(ny(2026, 3, 8, 3)).at == utc(2026, 3, 8, 12)


def test_a_site_open_every_day_opens_at_8am_standard_time_on_fall_back_day() -> None:
    assert clinic(hours=EVERY_DAY).next_open(ny(2026, 11, 1, 3)).at == utc(2026, 11, 1, 13)


def test_an_opening_time_the_clocks_skip_opens_when_the_clocks_land() -> None:
    gap = {6: ((time(2, 30), time(17)),)}
    opening = clinic(hours=gap).next_open(ny(2026, 3, 8, 0))
    assert opening.at == utc(2026, 3, 8, 7)
    assert opening.local.hour == 3
    assert opening.reasons == ("Sun 8 Mar before opening at 02:30 (the clocks skip that time; it opens at 03:00)",)


def test_an_opening_time_that_happens_twice_means_its_first_occurrence() -> None:
    twice = {6: ((time(1, 30), time(17)),)}
    assert clinic(hours=twice).next_open(ny(2026, 11, 1, 0)).at == utc(2026, 11, 1, 5, 30)


def test_being_inside_hours_on_fall_back_day_compares_instants_not_wall_times() -> None:
    early = clinic(hours={6: ((time(1), time(1, 45)),)})
    assert early.is_open(ny(2026, 11, 1, 1, 30, fold=0))  # 05:30 UTC, before the 01:45 EDT close
    assert not early.is_open(ny(2026, 11, 1, 1, 30, fold=1))  # 06:30 UTC, the clocks went back past it


# Holidays, closures, go-live


def test_thanksgiving_is_skipped_and_the_explanation_says_so() -> None:
    opening = clinic().next_open(ny(2026, 11, 26, 3))
    assert opening.at == utc(2026, 11, 27, 13)
    assert "Thanksgiving" in opening.explain()
    assert not clinic().is_open(ny(2026, 11, 26, 10))


def test_a_monday_holiday_defers_a_due_invite_to_tuesday_morning() -> None:
    opening = clinic().next_open(ny(2026, 10, 12, 9))
    assert opening.explain() == ("Tue 13 Oct 08:00 America/New_York: Mon 12 Oct is Columbus Day; "
                                 "Tue 13 Oct before opening at 08:00")


def test_an_invite_due_on_a_closed_monday_explains_itself_in_one_sentence() -> None:
    site = clinic(closures={date(2025, 11, 24): "Thanksgiving week"})
    opening = site.next_open(ny(2025, 11, 24, 9))
    assert opening.explain() == ("Tue 25 Nov 08:00 America/New_York: Mon 24 Nov closed: Thanksgiving week; "
                                 "Tue 25 Nov before opening at 08:00")


def test_a_practice_closure_is_skipped_with_its_reason() -> None:
    site = clinic(closures={date(2026, 11, 24): "Staff training"})
    opening = site.next_open(ny(2026, 11, 24, 10))
    assert opening.at == utc(2026, 11, 25, 13)
    assert opening.reasons[0] == "Tue 24 Nov closed: Staff training"
    assert not site.is_open(ny(2026, 11, 24, 10))


def test_explain_can_show_the_moment_in_another_zone() -> None:
    opening = clinic().next_open(ny(2026, 11, 24, 3))
    assert opening.explain("UTC") == "Tue 24 Nov 13:00 UTC: Tue 24 Nov before opening at 08:00"


@pytest.mark.parametrize(("moment", "live"), [
    (ny(2026, 2, 28, 23, 59), False), (ny(2026, 3, 1, 0), True), (ny(2026, 3, 2, 9), True),
    (utc(2026, 3, 1, 3), False),  # still 28 Feb in New York
])
def test_auto_invites_are_live_from_the_go_live_date_in_local_time(moment: datetime, live: bool) -> None:
    assert clinic(go_live=date(2026, 3, 1)).is_live(moment) is live


def test_a_site_without_a_go_live_date_is_live() -> None:
    assert clinic().is_live(utc(2000, 1, 1, 0))


def test_an_always_open_site_is_open_at_any_moment() -> None:
    site = SiteCalendar.always_open(ZONE)
    start = ny(2026, 3, 7, 0)
    for hours in range(0, 24 * 9, 5):
        assert site.is_open(start + timedelta(hours=hours, microseconds=hours))
    assert site.is_open(ny(2026, 11, 1, 23, 59) + timedelta(seconds=59, microseconds=999_999))
    assert not site.next_open(ny(2026, 12, 25, 12)).deferred
    assert SiteCalendar.always_open().zone == "UTC"


# Refusals


@pytest.mark.parametrize(("settings", "message"), [
    ({"zone": "America/Nowhere", "hours": {}}, "unknown time zone 'America/Nowhere'"),
    ({"zone": ZONE, "hours": {1: ((time(17), time(8)),)}}, "opening hours for Tue: 17:00-08:00 closes before it opens"),
    ({"zone": ZONE, "hours": {7: ((time(8), time(17)),)}}, "opening hours for weekday 7"),
    ({"zone": ZONE, "hours": {0: ((time(8), time(12)), (time(11), time(13)))}}, "08:00-12:00 overlaps 11:00-13:00"),
    ({"zone": ZONE, "hours": {}, "country": "XX"}, "unknown holidays country 'XX'"),
    ({"zone": ZONE, "hours": {}, "country": "US", "subdivision": "ZZ"}, "unknown holidays subdivision 'ZZ'"),
])
def test_a_bad_calendar_is_refused_naming_the_bad_value(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SiteCalendar(**settings)  # type: ignore[arg-type]


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        clinic().next_open(datetime(2026, 11, 24, 10))


def test_a_site_that_never_opens_raises_instead_of_searching_forever() -> None:
    with pytest.raises(ValueError, match="site never opens within a year"):
        clinic(hours={}).next_open(ny(2026, 11, 24, 10))
    assert not clinic(hours={}).is_open(ny(2026, 11, 24, 10))


def test_the_calendar_keeps_its_own_copy_of_the_hours() -> None:
    hours = {0: ((time(8), time(17)),)}
    site = clinic(hours=hours)
    hours[1] = ((time(8), time(17)),)
    assert not site.is_open(ny(2026, 11, 24, 10))
