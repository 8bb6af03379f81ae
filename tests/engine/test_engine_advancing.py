"""Staff advance enrollments step by step; every change is one transaction with its history."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from definitions.model import Actor
from definitions.vocabulary import standard_vocabulary
from engine.actors import ActorRef
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment
from engine.enrollments.steps import CompleteStep
from engine.errors import Conflict, NotAllowed, Refused
from engine.fsm.registry import missing_implementations
from engine.messaging.rendering import TemplateSecurityError
from engine.storage.tables import audit_events, credentials, enrollments, outbox, timers

ANA = ActorRef("ana", "staff", Actor.STAFF)
BOB = ActorRef("bob", "staff", Actor.STAFF)
SYSTEM = ActorRef("system", "system", Actor.SYSTEM)

REGENERATE_STEPS: dict[str, Any] = {
    "start_update": True, "choose_encounter_type": True, "set_provider": "dr-pcp", "regenerate": True,
    "close_and_end_update": True, "route_to": "", "sign_document": True, "decline_responsible_provider": "no",
}


def count(flow: Any, table: Any) -> int:
    with flow.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def state_of(flow: Any, enrollment_id: str) -> tuple[str, int]:
    with flow.db.connect() as conn:
        row = conn.execute(select(enrollments.c.state, enrollments.c.version)
                           .where(enrollments.c.id == enrollment_id)).one()
    return row.state, row.version


def test_the_engine_implements_every_name_of_the_vocabulary() -> None:
    assert missing_implementations(standard_vocabulary()) == {"guards": set(), "effects": set(), "rules": set(),
                                                               "extra": set()}


def test_a_first_pin_is_issued_shown_once_and_stored_only_as_a_hash(flow: Any) -> None:
    started = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id="p-jane"))
    done = flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_pin", ANA, expected_version=1))
    assert (done.from_state, done.to_state, done.status, done.version) == (
        "not_enrolled", "pending_registration", "Pending Registration", 2)
    (shown,) = done.shown
    assert shown.kind == "pin"
    assert len(shown.value) == 9
    assert shown.value[4] == "-"
    with flow.db.connect() as conn:
        stored = conn.execute(select(credentials.c.secret_hash)).scalar_one()
        queued = conn.execute(select(outbox.c.body, outbox.c.sealed, outbox.c.status)).one()
        pending = conn.execute(select(timers.c.timer_id, timers.c.due_at)).one()
    assert stored.startswith("$argon2id$")
    assert shown.value not in queued.body
    assert shown.value.replace("-", "") not in queued.body
    assert "[[sealed:pin]]" in queued.body
    assert queued.status == "queued"
    assert flow.services.sealer.open(queued.sealed) == {"pin": shown.value}
    assert pending.timer_id == "pin_expiry"


def test_a_refusal_lists_every_failing_guard_in_staff_words_and_changes_nothing(flow: Any) -> None:
    started = flow.start(StartEnrollment("op-generate-pin-easy-button", BOB, household_id="h-lee"))
    with pytest.raises(Refused) as refused:
        flow.advance(AdvanceEnrollment(started.enrollment_id, "register", BOB, inputs={
            "open_registration": "family_contacts", "create_validate_portal_account": True,
            "select_children": ["c-ava", "c-ben"], "click_register": True, "print_pins": True}))
    assert refused.value.reasons == (
        "your user is not linked to a staff record in the practice portal",
        "name is still 'Baby Girl Lee': update Basic Info to the given name first",
    )
    assert state_of(flow, started.enrollment_id) == ("not_registered", 1)
    assert count(flow, credentials) == 0


def test_regeneration_is_refused_without_an_email_on_file(flow: Any) -> None:
    started = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id="p-noemail"))
    with pytest.raises(Refused, match="email address is missing"):
        flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_pin", ANA))


def test_a_stale_version_gets_a_conflict_naming_the_current_state_and_changes_nothing(flow: Any) -> None:
    started = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id="p-jane"))
    flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_pin", ANA, expected_version=1))
    before = (count(flow, credentials), count(flow, outbox))
    with pytest.raises(Conflict) as conflict:
        flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_pin", ANA, expected_version=1))
    assert "it is now 'Pending Registration' (pending_registration, version 2)" in str(conflict.value)
    assert (count(flow, credentials), count(flow, outbox)) == before
    assert state_of(flow, started.enrollment_id) == ("pending_registration", 2)


def test_a_trigger_not_available_in_the_state_names_what_is(flow: Any) -> None:
    started = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id="p-jane"))
    with pytest.raises(NotAllowed, match="'regenerate_pin' is not available while the enrollment is 'Not "
                                         "Enrolled'; available: generate_pin"):
        flow.advance(AdvanceEnrollment(started.enrollment_id, "regenerate_pin", ANA))


@pytest.mark.parametrize("failure", [RuntimeError("template store unavailable"),
                                     TemplateSecurityError("x.j2", 3, "refused by the sandbox: an unsafe operation")])
def test_a_failing_effect_rolls_the_whole_transition_back(flow: Any, monkeypatch: pytest.MonkeyPatch,
                                                          failure: Exception) -> None:
    """Only a hole in a message (an empty field) holds it and lets the step go on; any other failure, a template
    the sandbox refuses included, undoes the whole step."""
    started = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id="p-jane"))

    def broken(definition: Any, name: str, context: dict[str, Any], **options: Any) -> Any:
        raise failure

    monkeypatch.setattr(flow.services.renderer, "render", broken)
    with pytest.raises(type(failure), match=str(failure).split(":")[0]):
        flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_pin", ANA))
    assert state_of(flow, started.enrollment_id) == ("not_enrolled", 1)
    assert (count(flow, credentials), count(flow, outbox), count(flow, timers)) == (0, 0, 0)


def test_steps_completed_one_at_a_time_count_toward_the_trigger_and_bad_inputs_are_named(
    flow: Any, clock: Any
) -> None:
    started = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id="p-jane"))
    enrollment = started.enrollment_id
    flow.advance(AdvanceEnrollment(enrollment, "generate_pin", ANA))
    clock.advance(timedelta(days=30))
    with pytest.raises(Refused, match=r"provider must be the patient's PCP: Dr\. Pat Primary"):
        flow.complete_step(CompleteStep(enrollment, "regenerate_pin", "set_provider", "dr-other", ANA))
    for step, value in REGENERATE_STEPS.items():
        flow.complete_step(CompleteStep(enrollment, "regenerate_pin", step, value, ANA))
    done = flow.advance(AdvanceEnrollment(enrollment, "regenerate_pin", ANA, expected_version=2))
    assert done.to_state == "pending_registration"
    with flow.db.connect() as conn:
        open_pins = conn.execute(select(func.count()).select_from(credentials).where(
            credentials.c.revoked_at.is_(None))).scalar_one()
    assert open_pins == 1


def test_route_to_must_be_empty_and_the_responsible_provider_prompt_answered_no(flow: Any, clock: Any) -> None:
    started = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id="p-jane"))
    flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_pin", ANA))
    clock.advance(timedelta(days=30))
    inputs = {**REGENERATE_STEPS, "route_to": "Dr. Pat Primary", "decline_responsible_provider": "yes"}
    with pytest.raises(Refused) as refused:
        flow.advance(AdvanceEnrollment(started.enrollment_id, "regenerate_pin", ANA, inputs=inputs))
    assert refused.value.reasons == ("'Route to' must be empty",
                                     "'Become the responsible provider of this document?' must be 'no'")


def test_refused_attempts_are_recorded_in_the_history(flow: Any) -> None:
    started = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id="p-noemail"))
    with pytest.raises(Refused):
        flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_pin", ANA, reason="patient at desk"))
    with flow.db.connect() as conn:
        rows = conn.execute(select(audit_events.c.action, audit_events.c.outcome, audit_events.c.detail,
                                   audit_events.c.actor_id).order_by(audit_events.c.id)).all()
    assert [(r.action, r.outcome, r.actor_id) for r in rows] == [
        ("enrollment_started", "ok", "ana"), ("transition", "refused", "ana")]
    assert rows[1].detail == "refused: email address is missing"


def test_a_second_running_enrollment_of_one_workflow_for_one_patient_is_refused(flow: Any) -> None:
    first = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id="p-jane"))
    expected = f"already running for this patient ({first.enrollment_id}, 'Not Enrolled')"
    with pytest.raises(Refused, match=re.escape(expected)):
        flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id="p-jane"))


def test_no_pin_or_token_appears_in_clear_in_any_table_or_log(
    flow: Any, clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    shown: list[str] = []
    a = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id="p-jane"))
    shown += [s.value for s in flow.advance(AdvanceEnrollment(a.enrollment_id, "generate_pin", ANA)).shown]
    b = flow.start(StartEnrollment("portal-invitation-reset-onboarding", ANA, patient_id="p-noemail"))
    flow.advance(AdvanceEnrollment(b.enrollment_id, "enable_portal_access", ANA,
                                   inputs={"enable_access": "chart_edit_information"}))
    password = "correct horse battery staple"
    flow.advance(AdvanceEnrollment(b.enrollment_id, "set_credentials_manually", ANA, reason="no email address",
                                   inputs=_manual_credentials(password)))
    shown.append(password)
    dump = _dump_all_tables(flow) + "\n" + caplog.text
    assert shown
    for secret in shown:
        assert secret not in dump
        assert secret.replace("-", "") not in dump


def _manual_credentials(password: str) -> dict[str, Any]:
    return {"open_edit_information": True, "username": "nora.mail", "password": password, "save": True,
            "hand_over": "in_person"}


def _dump_all_tables(flow: Any) -> str:
    from engine.storage.tables import metadata

    parts: list[str] = []
    with flow.db.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(text(f"SELECT * FROM {table.name}")):
                parts.append(repr(tuple(row)))
    return "\n".join(parts)
