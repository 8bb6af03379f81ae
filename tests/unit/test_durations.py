"""Designers write durations the way people say them; anything else is refused with how to write one."""

from __future__ import annotations

import pytest

from definitions.durations import BadDuration, parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("30d", 30 * 86400), ("12h", 43200), ("90m", 5400), ("1h30m", 5400), ("2w", 14 * 86400), ("45s", 45),
])
def test_a_number_and_a_unit_make_a_duration(text: str, seconds: int) -> None:
    assert parse_duration(text).seconds == seconds
    assert str(parse_duration(text)) == text


@pytest.mark.parametrize(("text", "why"), [
    ("30 days", "write a whole number and a unit"),
    ("30", "write a whole number and a unit"),
    ("1.5h", "write a whole number and a unit"),
    ("0d", "longer than zero"),
    ("1d1d", "each unit may appear once"),
    ("-1d", "write a whole number and a unit"),
])
def test_anything_else_is_refused_saying_why(text: str, why: str) -> None:
    with pytest.raises(BadDuration, match=why):
        parse_duration(text)
