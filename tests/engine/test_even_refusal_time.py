"""A refused link, PIN or password answers no sooner than a fixed floor after it arrived, whether it was unknown or
known but used: the caller cannot tell the refusals apart by time (issue 15, defect 4). Lower bounds only; no timed
assertion."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pytest

from definitions.model import Actor
from engine.actors import ActorRef
from engine.credentials.even_time import (
    LINK_REFUSAL_FLOOR,
    PIN_REFUSAL_FLOOR,
    SIGN_IN_REFUSAL_FLOOR,
    refusals_take_at_least,
)
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.portal import PresentPin
from engine.enrollments.start import StartEnrollment
from engine.errors import AuthenticationFailed, CredentialRefused

ANA = ActorRef("ana", "staff", Actor.STAFF)


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _refuse_after(fake: FakeTime, took: float) -> None:
    with refusals_take_at_least(0.025, fake.sleep, fake.clock):
        fake.now += took
        raise CredentialRefused("unknown", "not accepted")


def test_a_refusal_waits_out_what_is_left_of_the_floor_and_is_still_raised() -> None:
    fake = FakeTime()
    with pytest.raises(CredentialRefused):
        _refuse_after(fake, 0.004)
    assert fake.slept == [pytest.approx(0.021)]


def test_a_refusal_that_already_took_longer_than_the_floor_waits_no_more() -> None:
    fake = FakeTime()
    with pytest.raises(CredentialRefused):
        _refuse_after(fake, 0.030)
    assert fake.slept == []


def test_success_and_other_errors_are_never_held_back() -> None:
    fake = FakeTime()
    with refusals_take_at_least(0.025, fake.sleep, fake.clock):
        pass
    with pytest.raises(KeyError), refusals_take_at_least(0.025, fake.sleep, fake.clock):
        {}["not a refusal"]
    assert fake.slept == []


def _refusal_takes(flow: Any, token: str) -> float:
    started = time.monotonic()
    with pytest.raises(CredentialRefused):
        flow.present_link(token)
    return time.monotonic() - started


def test_an_unknown_link_and_a_used_one_both_answer_no_sooner_than_the_floor(flow: Any) -> None:
    eid = str(flow.start(StartEnrollment("portal-invitation-reset-onboarding", ANA, patient_id="p-jane")).enrollment_id)
    flow.advance(AdvanceEnrollment(eid, "enable_portal_access", ANA, inputs={"enable_access": "onboarding_tool"}))
    (shown,) = flow.advance(AdvanceEnrollment(eid, "send_invitation", ANA, inputs={
        "send_from": "onboarding_tool", "confirm_email_personal": True})).shown
    token = shown.value.rsplit("/", 1)[-1]
    flow.present_link(token)  # used: from now on it is refused, and why is noted on the history
    assert _refusal_takes(flow, "x" * 43) >= LINK_REFUSAL_FLOOR
    assert _refusal_takes(flow, token) >= LINK_REFUSAL_FLOOR


def _pin_refusal_takes(flow: Any, pin: str, born: date) -> float:
    started = time.monotonic()
    with pytest.raises(CredentialRefused):
        flow.present_pin(PresentPin(pin, born))
    return time.monotonic() - started


def test_a_wrong_pin_and_a_used_one_both_answer_no_sooner_than_the_pin_floor(flow: Any) -> None:
    started = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id="p-jane"))
    (shown,) = flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_pin", ANA)).shown
    flow.present_pin(PresentPin(shown.value, date(1980, 4, 1)))  # used from now on
    assert _pin_refusal_takes(flow, "ZZZZ-ZZZZ", date(1980, 4, 1)) >= PIN_REFUSAL_FLOOR
    assert _pin_refusal_takes(flow, shown.value, date(1980, 4, 1)) >= PIN_REFUSAL_FLOOR


def _sign_in_refusal_takes(flow: Any, user: str, password: str) -> float:
    started = time.monotonic()
    with pytest.raises(AuthenticationFailed):
        flow.users.log_in(user, password)
    return time.monotonic() - started


def test_a_wrong_password_and_an_unknown_user_both_answer_no_sooner_than_the_sign_in_floor(flow: Any) -> None:
    admin = ActorRef("root", "admin", Actor.STAFF)
    flow.users.create(admin, "maya", "Maya", "staff")
    flow.users.set_password(admin, "maya", "a long enough password", "test set-up")
    assert _sign_in_refusal_takes(flow, "maya", "not her password") >= SIGN_IN_REFUSAL_FLOOR
    assert _sign_in_refusal_takes(flow, "nobody", "not her password") >= SIGN_IN_REFUSAL_FLOOR
