"""An advance's audit rows made from a template are, byte for byte, the rows `about_enrollment` and `prepare` make:
for every enrollment, subject, moment, time zone and reason after the one the template was made from, with the
entries its effects added after it; entries with inputs, and ids no chain could have, take the ordinary way."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from definitions import load_workflow
from definitions.model import Actor, Transition
from engine.actors import ActorRef
from engine.audit.entry import GENESIS, AuditEntry, ChainHead, about_enrollment
from engine.audit.trail import prepare
from engine.enrollments.advance_audit import AdvanceEntries
from engine.fsm.rows import EnrollmentRow

ROOT = Path(__file__).resolve().parents[2]
STAFF = ActorRef("u1", "staff", Actor.STAFF)
DEFINITION = load_workflow(ROOT / "workflows" / "portal-invitation-reset-onboarding.yaml")
TRANSITION = DEFINITION.transitions[0]

_ids = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=64).filter(str.isprintable)
_texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_heads = st.text("0123456789abcdef", min_size=64, max_size=64)
_zones = st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))])
_moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=_zones)


def _row(enrollment_id: str, patient: str | None, household: str | None, seq: int, head: str) -> EnrollmentRow:
    return EnrollmentRow(enrollment_id, DEFINITION.id, DEFINITION.version, patient, household, TRANSITION.sources[0],
                         3, (), seq, head)


def _ordinary(row: EnrollmentRow, transition: Transition, at: datetime, actor: ActorRef,
              inputs: dict[str, object] | None, reason: str | None,
              extra: list[AuditEntry]) -> tuple[list[dict[str, object]], ChainHead]:
    entry = about_enrollment(row, at, actor, "transition", "ok", to_state=transition.dest,
                             trigger=transition.trigger, inputs=inputs, reason=reason)
    return prepare([entry, *extra], ChainHead(row.audit_seq, row.audit_head))


def _made(entries: AdvanceEntries, row: EnrollmentRow, at: datetime, reason: str | None,
          extra: list[AuditEntry] | None = None,
          inputs: dict[str, object] | None = None) -> tuple[list[dict[str, object]], ChainHead]:
    return entries.rows(row, TRANSITION, at, STAFF, inputs, reason, extra or [])


@settings(max_examples=300, deadline=None)
@given(first=_ids, other=_ids, patient=st.none() | _ids, household=st.none() | _ids, first_reason=st.none() | _texts,
       reason=st.none() | _texts, seq=st.integers(0, 2**31), head=_heads, first_at=_moments, at=_moments)
def test_a_templated_advance_entry_is_byte_for_byte_the_one_about_enrollment_and_prepare_make(
        first: str, other: str, patient: str | None, household: str | None, first_reason: str | None,
        reason: str | None, seq: int, head: str, first_at: datetime, at: datetime) -> None:
    entries = AdvanceEntries()
    made_from = _row(first, "p-first", None, 0, GENESIS)
    assert _made(entries, made_from, first_at, first_reason) == _ordinary(
        made_from, TRANSITION, first_at, STAFF, None, first_reason, [])
    row = _row(other, patient, household, seq, head)
    assert _made(entries, row, at, reason) == _ordinary(row, TRANSITION, at, STAFF, None, reason, [])


def test_the_entries_an_effect_added_follow_the_templated_one_on_the_chain() -> None:
    entries = AdvanceEntries()
    at = datetime(2026, 3, 2, 14, 0, 5, 123456, tzinfo=UTC)
    _made(entries, _row("e0", "p0", None, 0, GENESIS), at, None)  # the template is made here
    row = _row("e1", "p1", None, 4, "a" * 64)
    extra = [about_enrollment(row, at, STAFF, "message_queued", "ok", detail="invite"),
             about_enrollment(row, at, STAFF, "pin_issued", "ok", detail="one PIN")]
    assert _made(entries, row, at, "asked by phone", extra) == _ordinary(
        row, TRANSITION, at, STAFF, None, "asked by phone", extra)


def test_an_entry_with_inputs_is_made_the_ordinary_way_with_its_secrets_redacted() -> None:
    entries = AdvanceEntries()
    at = datetime(2026, 3, 2, 14, 0, 5, tzinfo=UTC)
    _made(entries, _row("e0", "p0", None, 0, GENESIS), at, None)
    row = _row("e1", "p1", None, 1, "b" * 64)
    made, head = _made(entries, row, at, None, inputs={"channel": "email", "pin": "ABCD2345"})
    assert (made, head) == _ordinary(row, TRANSITION, at, STAFF, {"channel": "email", "pin": "ABCD2345"}, None, [])
    assert made[0]["inputs"] == {"channel": "email", "pin": "[redacted]"}


def test_another_actor_or_destination_gets_a_template_of_its_own() -> None:
    entries = AdvanceEntries()
    at = datetime(2026, 3, 2, 14, 0, 5, tzinfo=UTC)
    _made(entries, _row("e0", "p0", None, 0, GENESIS), at, None)
    clerk = ActorRef("u2", "admin", Actor.STAFF)
    row = _row("e1", "p1", None, 1, "c" * 64)
    assert entries.rows(row, TRANSITION, at, clerk, None, None) == _ordinary(row, TRANSITION, at, clerk, None, None, [])
    elsewhere = replace(TRANSITION, dest="somewhere else")
    assert entries.rows(row, elsewhere, at, STAFF, None, None) == _ordinary(row, elsewhere, at, STAFF, None, None, [])


@pytest.mark.parametrize("enrollment_id", ["", "x" * 65, "tab\there", "line\nbreak"])
def test_an_id_that_could_not_be_a_chain_is_refused_as_the_ordinary_way_refuses_it(enrollment_id: str) -> None:
    entries = AdvanceEntries()
    at = datetime(2026, 3, 2, tzinfo=UTC)
    _made(entries, _row("e0", "p0", None, 0, GENESIS), at, None)
    with pytest.raises(ValueError, match="audit chain"):
        _made(entries, _row(enrollment_id, "p1", None, 0, GENESIS), at, None)


def test_a_time_without_a_zone_is_refused_as_the_ordinary_way_refuses_it() -> None:
    entries = AdvanceEntries()
    _made(entries, _row("e0", "p0", None, 0, GENESIS), datetime(2026, 3, 2, tzinfo=UTC), None)
    with pytest.raises(ValueError, match="timezone-aware"):
        _made(entries, _row("e1", "p1", None, 0, GENESIS), datetime(2026, 3, 2), None)
