"""The schema's patterns and enums accept only what the engine accepts: what the document promises, the engine keeps.

Text drawn from each pattern (by Hypothesis, reading `$` as the end of the text, as JSON Schema does) passes the
engine's own check of that field; every value of an enum is one the engine takes; and the enums are the engine's
own sets, so that neither can change without the other.
"""

from __future__ import annotations

import re
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seeded_service import seeded_service

from api.cli.users import CLI_ACTOR
from api.routes.audit import Outcome
from api.schemas.common import CELL_PHONE, EMAIL, FROM_ADDRESS, HTTPS_URL, NOT_BLANK, ZIP
from api.schemas.demographics import BirthSex
from api.schemas.integration import EventKind
from api.schemas.sites import COUNTRIES, ZONES
from api.schemas.users import Role
from engine.audit.entry import OUTCOMES
from engine.calendars.site_calendar import SiteCalendar
from engine.enrollments.intake import EVENT_KINDS
from engine.people.demographics import BIRTH_SEXES, check_changes
from engine.people.identity import ROLES

EXAMPLES = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


def drawn_from(pattern: str, max_size: int) -> st.SearchStrategy[str]:
    """Text the pattern matches as JSON Schema reads it: a closing `$` is the end of the text (Python's `$` would
    also match before a final newline)."""
    as_json_schema_reads_it = re.sub(r"\$(?=\||\Z)", r"\\Z", pattern)
    return st.from_regex(as_json_schema_reads_it).filter(lambda text: len(text) <= max_size)


@pytest.mark.parametrize(("field", "pattern", "max_size"), [
    ("first_name", NOT_BLANK, 120), ("email", EMAIL, 320), ("zip", ZIP, 16), ("cell_phone", CELL_PHONE, 32)])
def test_text_matching_a_demographic_fields_pattern_passes_the_engines_check(
        field: str, pattern: str, max_size: int) -> None:
    @EXAMPLES
    @given(drawn_from(pattern, max_size))
    def passes(text: str) -> None:
        assert check_changes({field: text})[{"first_name": "given_name"}.get(field, field)] == text.strip()

    passes()


SERVICE = seeded_service("portalflow-patterns-")


@pytest.mark.parametrize(("field", "pattern", "max_size"), [
    ("portal_url", HTTPS_URL, 500), ("from_address", FROM_ADDRESS, 320), ("name", NOT_BLANK, 200)])
def test_text_matching_a_site_fields_pattern_is_saved_by_the_engine(field: str, pattern: str, max_size: int) -> None:
    practice = SERVICE.app.state.flow.practice

    @EXAMPLES
    @given(drawn_from(pattern, max_size))
    def saved(text: str) -> None:
        practice.update_site(CLI_ACTOR, "main", {field: text})
        assert getattr(practice.read_site("main"), field) == text

    saved()


def test_a_pattern_refuses_what_the_engine_refuses() -> None:
    """The other way round, on the engine's own counter-examples: the patterns are not looser than its checks."""
    refused: list[tuple[str, str]] = [(NOT_BLANK, " \t\u3000"), (EMAIL, "jane at home"), (EMAIL, "a@b.\x1c"),
                                      (ZIP, "#123"), (CELL_PHONE, "   12345   "), (HTTPS_URL, "http://a.b"),
                                      (HTTPS_URL, "https://[::1"), (FROM_ADDRESS, "desk")]
    for pattern, text in refused:
        assert re.search(pattern, text) is None, (pattern, text)


def enum_values(literal: Any) -> tuple[str, ...]:
    return tuple(value for arg in get_args(literal) for value in (get_args(arg) or (arg,)) if isinstance(value, str))


@pytest.mark.parametrize(("ours", "engines"), [
    pytest.param(Role, ROLES, id="roles"), pytest.param(EventKind, EVENT_KINDS, id="event kinds"),
    pytest.param(BirthSex, BIRTH_SEXES, id="birth sexes"), pytest.param(Outcome, OUTCOMES, id="audit outcomes")])
def test_an_enum_of_the_schema_is_the_engines_own_set(ours: Any, engines: tuple[str, ...]) -> None:
    assert set(enum_values(ours)) == set(engines)


def test_every_time_zone_and_holiday_country_the_schema_offers_makes_a_calendar_the_engine_takes() -> None:
    for zone in ZONES:
        SiteCalendar.always_open(zone)
    for country in COUNTRIES:
        SiteCalendar(zone="UTC", hours={}, country=country)
    assert "America/New_York" in ZONES
    assert {"US", "GB", "CA"} <= set(COUNTRIES)
