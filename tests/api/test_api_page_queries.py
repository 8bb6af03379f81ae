"""Issue 15, item 14: a list is read in a fixed number of queries, never a round per row it shows.

Each list endpoint is asked for a page of one row and for a page of every row, on the same practice; both must send
the same number of statements (counted with SQLAlchemy's `before_cursor_execute`, tests/statements.py). So do the
pages that show a list of things read apart: a patient's households, the admin's sites with their calendars.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, text
from statements import Statements

from api.cli.users import CLI_ACTOR
from api.web.session import COOKIE
from engine.calendars.site_calendar import SiteCalendar
from engine.people.identity import SESSION_LABEL
from engine.people.practice import SiteRecord
from engine.storage.tables import household_members, households, patients, portal_accounts

PIN, EASY = "nextgen-regenerate-expired-pin", "op-generate-pin-easy-button"
ONBOARDING = "portal-invitation-reset-onboarding"
MORE = 6  # patients and households beside tests/practice.py's


def _call(api: Any, method: str, path: str, user: str = "ana", **kwargs: Any) -> Any:
    answer = api.client.request(method, path, headers=api.as_(user), **kwargs)
    assert answer.status_code < 300, answer.text
    return answer.json()


def _people(flow: Any, clock: Any) -> None:
    """MORE adults with an email, and MORE households of two children each, the first child with an account."""
    person = {"site_id": "main", "birth_sex": "F", "zip": "02139", "email_confirmed_personal": True,
              "pcp_id": "dr-pcp", "responsible_provider_id": "dr-pcp", "portal_access_enabled": False,
              "name_is_placeholder": False}
    with flow.db.begin() as conn:
        conn.execute(insert(portal_accounts), [{"id": f"acct-{i}", "must_change_password": False,
                                                "created_at": clock.now()} for i in range(MORE)])
        conn.execute(insert(patients), [
            {**person, "id": f"p-{i}", "given_name": f"Al{i}", "family_name": "Doe", "birth_date": date(1980, 1, 1 + i),
             "email": f"p{i}@example.test"} for i in range(MORE)])
        conn.execute(insert(patients), [
            {**person, "id": f"c-{i}-{n}", "given_name": f"Kid{n}", "family_name": f"Fam{i}",
             "birth_date": date(2015 + n, 1, 1), "email": None, "portal_account_id": f"acct-{i}" if n == 1 else None}
            for i in range(MORE) for n in (1, 2)])
        conn.execute(insert(households), [
            {"id": f"h-{i}", "site_id": "main", "guardian_given_name": "Kay", "guardian_family_name": f"Fam{i}",
             "guardian_email": f"h{i}@example.test", "guardian_email_confirmed_personal": True}
            for i in range(MORE)])
        conn.execute(insert(household_members), [
            {"household_id": f"h-{i}", "patient_id": f"c-{i}-{n}", "position": n} for i in range(MORE) for n in (1, 2)])


@pytest.fixture
def busy(api: Any, flow: Any, clock: Any) -> None:
    """Every list has MORE rows or more: PINs expiring, invites waiting, households part-registered, failed
    messages, enrollments, history."""
    _people(flow, clock)
    adults = [f"p-{i}" for i in range(MORE)]
    for patient in adults:
        started = _call(api, "POST", "/enrollments", json={"workflow_id": PIN, "patient_id": patient})
        _call(api, "POST", f"/enrollments/{started['enrollment_id']}/triggers/generate_pin", json={})
    for i in range(MORE):
        _call(api, "POST", "/enrollments", json={"workflow_id": EASY, "household_id": f"h-{i}"})
    for trigger, inputs in (("enable_portal_access", {"enable_access": "onboarding_tool"}),
                            ("send_invitation", {"send_from": "onboarding_tool", "confirm_email_personal": True})):
        done = _call(api, "POST", "/onboarding", json={"workflow_id": ONBOARDING, "trigger": trigger,
                                                      "patient_ids": adults, "inputs": inputs})
        assert done["acted"] == MORE, done
    with flow.db.begin() as conn:
        conn.execute(text("UPDATE outbox SET status = 'failed', detail = 'bounced'"))
    clock.advance(timedelta(days=25))  # the PINs expire within the week


def _statements(flow: Any, read: Any) -> tuple[int, Any]:
    flow.users.tokens.clear()  # every counted request looks its token up (none is answered from the token cache)
    with Statements(flow.db) as seen:
        answer = read()
    return len(seen.sent), answer


@pytest.mark.parametrize("path", ["/patients", "/households", "/enrollments", "/worklists/pins-expiring",
                                  "/worklists/invites-waiting", "/worklists/households-part-registered",
                                  "/worklists/messages-failed", "/audit/events"])
def test_a_long_page_of_a_list_takes_as_many_queries_as_a_page_of_one_row(
        api: Any, flow: Any, busy: None, path: str) -> None:
    user = "audrey" if path.startswith("/audit") else "ana"
    short, one = _statements(flow, lambda: _call(api, "GET", path, user, params={"limit": 1}))
    long, every = _statements(flow, lambda: _call(api, "GET", path, user, params={"limit": 500}))
    rows = every["events"] if path.startswith("/audit") else every
    assert len(rows) >= MORE
    assert len(one["events"] if path.startswith("/audit") else one) == 1
    assert long == short, f"{path}: {short} statements for one row, {long} for {len(rows)}"


def test_a_page_of_households_comes_with_each_ones_children_in_order(api: Any, flow: Any, clock: Any) -> None:
    _people(flow, clock)
    short, first = _statements(flow, lambda: _call(api, "GET", "/households", params={"limit": 1}))
    long, page = _statements(flow, lambda: _call(api, "GET", "/households", params={"limit": 50}))
    assert long == short
    assert [h["id"] for h in page] == sorted(["h-lee", *(f"h-{i}" for i in range(MORE))])
    assert first == page[:1]
    shown = {h["id"]: h["children"] for h in page}
    assert shown["h-lee"] == ["c-ava", "c-ben", "c-cal"]
    assert shown["h-3"] == ["c-3-1", "c-3-2"]
    assert page[1:] == [_call(api, "GET", f"/households/{h['id']}") for h in page[1:]]


def _page(api: Any, flow: Any, user: str, path: str) -> Any:
    session = flow.users.issue_token(CLI_ACTOR, user, SESSION_LABEL).value
    flow.users.tokens.clear()
    with Statements(flow.db) as seen:
        answer = api.client.get(path, cookies={COOKIE: session})
    assert answer.status_code == 200, answer.text
    return len(seen.sent), answer.text


def test_a_patients_page_reads_their_households_together_however_many(api: Any, flow: Any, clock: Any) -> None:
    _people(flow, clock)
    one, _ = _page(api, flow, "ana", "/app/patients/c-1-1")
    with flow.db.begin() as conn:  # the child is in four households now
        conn.execute(insert(household_members), [
            {"household_id": f"h-{i}", "patient_id": "c-1-1", "position": 3} for i in (2, 3, 4)])
    four, shown = _page(api, flow, "ana", "/app/patients/c-1-1")
    assert four == one
    assert all(f'href="/app/households/h-{i}"' in shown for i in (1, 2, 3, 4))


def test_the_admins_sites_page_reads_every_sites_calendar_together(api: Any, flow: Any) -> None:
    one, _ = _page(api, flow, "root", "/app/admin/sites")
    for i in range(3):
        flow.practice.create_site(CLI_ACTOR, SiteRecord(f"s{i}", f"Site {i}", "America/Chicago",
                                                        "https://portal.example.test", "(617) 555-0111"))
    flow.practice.replace_calendar(CLI_ACTOR, "s1", SiteCalendar(
        zone="America/Chicago", hours={0: ((time(8), time(17)),)}, closures={date(2026, 12, 24): "Eve"}))
    four, shown = _page(api, flow, "root", "/app/admin/sites")
    assert four == one
    assert "Site 2" in shown
    assert "2026-12-24" in shown

