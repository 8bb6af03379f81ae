"""Every failure at the portal and at staff sign-in is one counted write, known credential or not; an address that
fails staff sign-in too often is refused everything for a while, audited."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from definitions.model import Actor
from engine.actors import ActorRef
from engine.enrollments.portal import PresentPin
from engine.errors import AuthenticationFailed, CredentialRefused
from engine.people.sign_in_addresses import ADDRESS_FAILURES, ADDRESS_PAUSE, ADDRESS_WINDOW
from engine.storage.tables import audit_events, portal_refusals, sign_in_addresses

ADMIN = ActorRef("cli", "admin", Actor.STAFF)
PASSWORD = "a long enough password"  # a test user's


def _refusals(flow: Any) -> dict[str, int]:
    with flow.db.connect() as conn:
        return {row.door: row.refusals for row in conn.execute(select(portal_refusals))}


def _with_password(flow: Any, user: str) -> None:
    flow.users.create(ADMIN, user, user.title(), "staff")
    flow.users.set_password(ADMIN, user, PASSWORD, "test set-up")
    flow.users.change_own_password(flow.users.get(user), PASSWORD)


def test_every_portal_refusal_is_counted_for_the_day_whether_or_not_the_credential_was_known(flow: Any) -> None:
    for presented in ("ZZZZ-ZZZZ", "YYYY-YYYY"):
        with pytest.raises(CredentialRefused):
            flow.present_pin(PresentPin(presented, date(1980, 4, 1)))
    with pytest.raises(CredentialRefused):
        flow.present_link("x" * 43)
    assert _refusals(flow) == {"pin": 2, "link": 1}


def test_an_address_that_fails_too_often_is_refused_even_the_right_password_and_the_pause_is_audited(
        flow: Any) -> None:
    _with_password(flow, "maya")
    for n in range(ADDRESS_FAILURES):  # a few guesses at many user names: no one user reaches its own pause
        with pytest.raises(AuthenticationFailed):
            flow.users.log_in(f"user-{n % 7}", "guess", address="203.0.113.9")
    with pytest.raises(AuthenticationFailed):
        flow.users.log_in("maya", PASSWORD, address="203.0.113.9")
    assert flow.users.log_in("maya", PASSWORD, address="198.51.100.4")[0].id == "maya"  # elsewhere: fine
    with flow.db.connect() as conn:
        (paused,) = conn.execute(select(audit_events).where(audit_events.c.action == "sign_in_paused")).all()
    assert (paused.subject_type, paused.subject_id, paused.actor_id) == ("address", "203.0.113.9", "system")
    assert f"{ADDRESS_FAILURES} failed sign-ins from this address" in paused.detail


def test_an_address_pause_ends_after_its_time(flow: Any, clock: Any) -> None:
    _with_password(flow, "maya")
    for _ in range(ADDRESS_FAILURES):
        with pytest.raises(AuthenticationFailed):
            flow.users.log_in("nobody", "guess", address="203.0.113.9")
    clock.advance(ADDRESS_PAUSE + timedelta(seconds=1))
    assert flow.users.log_in("maya", PASSWORD, address="203.0.113.9")[0].id == "maya"


def test_failures_spread_wider_than_the_window_never_pause_an_address(flow: Any, clock: Any) -> None:
    _with_password(flow, "maya")
    for _ in range(3):
        for _ in range(ADDRESS_FAILURES - 1):
            with pytest.raises(AuthenticationFailed):
                flow.users.log_in("nobody", "guess", address="203.0.113.9")
        clock.advance(ADDRESS_WINDOW)
    assert flow.users.log_in("maya", PASSWORD, address="203.0.113.9")[0].id == "maya"
    with flow.db.connect() as conn:
        assert conn.execute(select(sign_in_addresses.c.paused_until)).scalar() is None


def test_every_kind_of_sign_in_failure_writes_its_count(flow: Any) -> None:
    _with_password(flow, "maya")
    flow.users.create(ADMIN, "nopass", "No Password", "staff")
    cases = [("nobody", PASSWORD), ("maya", "wrong password!"), ("nopass", PASSWORD)]
    for user, password in cases:
        with pytest.raises(AuthenticationFailed):
            flow.users.log_in(user, password, address="192.0.2.1")
    with flow.db.connect() as conn:
        assert conn.execute(select(sign_in_addresses.c.failures)).scalar() == len(cases)
