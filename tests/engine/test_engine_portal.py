"""Guardians and patients on the portal: PIN + date of birth, siblings on one account, expiry at use time."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from definitions.model import Actor
from engine.actors import EVERY_SITE, ActorRef
from engine.audit.reading import HistoryQuery
from engine.credentials.pins import MAX_PIN_FAILURES
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.portal import REFUSED, PresentPin
from engine.enrollments.start import StartEnrollment
from engine.errors import CredentialRefused
from engine.storage.tables import credentials, enrollments, households, outbox, patients

ANA = ActorRef("ana", "staff", Actor.STAFF)
SIBLING_STEPS: dict[str, Any] = {
    "select_children": ["c-ava", "c-cal"], "open_first_child": "patient_administration",
    "first_child_send_pin": True, "complete_first_child": True, "begin_next_sibling": True,
    "sibling_do_not_send_pin": True, "print_sibling_pins": True, "complete_siblings": True,
}


def pin_for(flow: Any) -> tuple[str, str]:
    started = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id="p-jane"))
    (shown,) = flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_pin", ANA)).shown
    return started.enrollment_id, shown.value


def test_a_patient_registers_with_pin_and_birth_date_and_the_pin_is_then_used_up(flow: Any) -> None:
    enrollment, pin = pin_for(flow)
    done = flow.present_pin(PresentPin(pin.lower().replace("-", " "), date(1980, 4, 1)))
    assert (done.enrollment_id, done.to_state, done.status) == (enrollment, "registered", "Registered")
    with pytest.raises(CredentialRefused) as again:
        flow.present_pin(PresentPin(pin, date(1980, 4, 1)))
    assert again.value.why == "used"  # for the history; the caller's words are the same as for a wrong PIN
    assert str(again.value) == REFUSED


def test_a_pin_works_until_just_before_30_days_and_is_refused_as_expired_on_day_30(flow: Any, clock: Any) -> None:
    _, pin = pin_for(flow)
    clock.advance(timedelta(days=30))
    with pytest.raises(CredentialRefused, match=f"^{REFUSED}$") as refused:
        flow.present_pin(PresentPin(pin, date(1980, 4, 1)))
    assert refused.value.why == "expired"  # for the history, never in the caller's words
    clock.advance(timedelta(microseconds=-1))
    assert flow.present_pin(PresentPin(pin, date(1980, 4, 1))).to_state == "registered"


def test_a_wrong_birth_date_gets_the_same_answer_as_an_unknown_pin(flow: Any) -> None:
    _, pin = pin_for(flow)
    answers = set()
    for pin_text, birth in ((pin, date(1980, 4, 2)), ("ZZZZ-ZZZZ", date(1980, 4, 1)), (pin, date(1999, 1, 1))):
        with pytest.raises(CredentialRefused) as refused:
            flow.present_pin(PresentPin(pin_text, birth))
        answers.add(str(refused.value))
    assert answers == {REFUSED}


def test_after_100_consecutive_failures_that_pin_is_locked_but_not_the_account(flow: Any) -> None:
    _, pin = pin_for(flow)
    with flow.db.begin() as conn:
        conn.execute(update(credentials).values(failures=MAX_PIN_FAILURES - 1))
    with pytest.raises(CredentialRefused):
        flow.present_pin(PresentPin("ZZZZ-ZZZZ", date(1980, 4, 1)))
    with pytest.raises(CredentialRefused, match=f"^{REFUSED}$") as locked:
        flow.present_pin(PresentPin(pin, date(1980, 4, 1)))
    assert locked.value.why == "locked"
    with flow.db.connect() as conn:
        assert conn.execute(select(patients.c.portal_account_id).where(patients.c.id == "p-jane")).scalar() is None


def test_siblings_get_one_welcome_email_for_the_first_child_and_the_rest_printed(flow: Any) -> None:
    started = flow.start(StartEnrollment("intellichart-pins-for-siblings", ANA, household_id="h-lee"))
    done = flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_sibling_pins", ANA, inputs=SIBLING_STEPS))
    assert [(s.patient_id, s.do_not_send) for s in done.shown] == [("c-ava", False), ("c-cal", True)]
    with flow.db.connect() as conn:
        sent = conn.execute(select(outbox.c.message_id, outbox.c.channel, outbox.c.recipient, outbox.c.status)
                            .order_by(outbox.c.id)).all()
    assert [tuple(r) for r in sent] == [("welcome_email", "email", "kim@example.test", "queued"),
                                        ("sibling_pin_printout", "letter", None, "printed")]
    (letter,) = done.documents
    cal_pin = done.shown[1].value
    assert cal_pin in letter.body
    assert done.shown[0].value not in letter.body


def test_a_guardian_registers_the_first_child_then_adds_another_to_the_same_account(flow: Any) -> None:
    started = flow.start(StartEnrollment("intellichart-pins-for-siblings", ANA, household_id="h-lee"))
    done = flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_sibling_pins", ANA, inputs=SIBLING_STEPS))
    ava, cal = done.shown
    first = flow.present_pin(PresentPin(ava.value, date(2018, 6, 1)))
    assert (first.trigger, first.to_state) == ("guardian_creates_account", "partially_registered")
    second = flow.present_pin(PresentPin(cal.value, date(2016, 2, 2)))
    assert (second.trigger, second.to_state) == ("add_another_child", "registered")
    with flow.db.connect() as conn:
        accounts = conn.execute(select(patients.c.id, patients.c.portal_account_id)
                                .where(patients.c.id.in_(["c-ava", "c-cal"]))).all()
        guardian = conn.execute(select(households.c.portal_account_id)).scalar_one()
        state = conn.execute(select(enrollments.c.state)).scalar_one()
    assert {a.portal_account_id for a in accounts} == {guardian}
    assert state == "registered"


def test_the_baby_girl_placeholder_is_refused_until_renamed(flow: Any) -> None:
    started = flow.start(StartEnrollment("op-generate-pin-easy-button", ANA, household_id="h-lee"))
    inputs = {"open_registration": "appointment", "create_validate_portal_account": True,
              "select_children": ["c-ben"], "click_register": True, "print_pins": True}
    with pytest.raises(Exception, match="name is still 'Baby Girl Lee'"):
        flow.advance(AdvanceEnrollment(started.enrollment_id, "register", ANA, inputs=inputs))
    with flow.db.begin() as conn:
        conn.execute(update(patients).where(patients.c.id == "c-ben").values(given_name="Bea",
                                                                              name_is_placeholder=False))
    done = flow.advance(AdvanceEnrollment(started.enrollment_id, "register", ANA, inputs=inputs))
    assert done.to_state == "pending_registration"
    (letter,) = done.documents
    assert "Bea Lee" in letter.body
    assert done.shown[0].value in letter.body


def test_the_portal_caller_hears_one_answer_for_a_wrong_a_locked_and_an_expired_pin_and_the_history_says_which(
        flow: Any, clock: Any) -> None:
    """Issue 15, defect 3: after 100 failures the right PIN answered "locked" and a wrong one "wrong", so the lock
    told which guess was right; an expired PIN answered "expired"."""
    _, pin = pin_for(flow)
    with flow.db.begin() as conn:
        conn.execute(update(credentials).values(failures=MAX_PIN_FAILURES - 1))
    answers = []
    for guess in ("ZZZZ-ZZZZ", "YYYY-YYYY", pin):  # the first locks it; then a wrong one, then the right one
        with pytest.raises(CredentialRefused) as refused:
            flow.present_pin(PresentPin(guess, date(1980, 4, 1)))
        answers.append(str(refused.value))
    _, other = pin_for_patient(flow, "p-noemail")
    clock.advance(timedelta(days=31))
    with pytest.raises(CredentialRefused) as expired:
        flow.present_pin(PresentPin(other, date(1975, 1, 2)))
    answers.append(str(expired.value))
    assert set(answers) == {REFUSED}
    history = [e.detail for e in flow.histories.find(HistoryQuery(action="credential_refused", limit=100),
                                                     viewer=EVERY_SITE)]
    assert history == ["the PIN of p-jane locked after 100 wrong attempts at the portal",
                       "a locked PIN of p-jane was presented", "an expired PIN of p-noemail was presented"]
    assert all(pin not in (d or "") and other not in (d or "") for d in history)


def pin_for_patient(flow: Any, patient_id: str) -> tuple[str, str]:
    started = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id=patient_id))
    flow.people.update_patient(ANA, patient_id, {"email": "nora@example.test"})
    (shown,) = flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_pin", ANA)).shown
    return started.enrollment_id, shown.value
