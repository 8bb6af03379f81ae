"""The clerk's morning: the home page counts what needs doing, and each worklist opens on its rows."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import update

from api.cli.users import CLI_ACTOR
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.portal import PresentPin
from engine.enrollments.start import StartEnrollment
from engine.storage.tables import outbox


def test_a_pin_about_to_expire_is_counted_on_the_home_page_and_listed_with_its_patient(
        browser: Any, site: Any) -> None:
    started = site.flow.start(StartEnrollment("nextgen-regenerate-expired-pin", CLI_ACTOR, patient_id="p-jane"))
    site.flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_pin", CLI_ACTOR, started.version))
    site.clock.advance(timedelta(days=25))

    clerk = browser()
    clerk.sign_in("ana")
    card = clerk.page.get_by_role("link", name="PINs expiring")
    assert card.inner_text().split()[0] == "1"
    clerk.click("1 PINs expiring", role="link")
    row = clerk.text("tbody tr")
    assert "Jane Doe" in row
    assert "in 5 day(s)" in row
    clerk.click("open", role="link")
    assert clerk.page.url.endswith(f"/app/enrollments/{started.enrollment_id}")

    for name in ("invites-waiting", "households-part-registered", "messages-failed"):
        clerk.open(f"/app/worklists/{name}")
        assert clerk.page.get_by_role("heading", level=1).count() == 1
    clerk.open("/app/worklists/no-such-list")
    assert "There is no worklist 'no-such-list'." in clerk.text()


def test_typing_in_the_patient_search_shows_the_matches_without_leaving_the_page(browser: Any) -> None:
    clerk = browser()
    clerk.sign_in("ana")
    clerk.open("/app/patients")
    clerk.page.evaluate("window.stayed = true")  # a full page load would forget this
    clerk.page.get_by_label("Name, birth date or MRN").press_sequentially("Lee", delay=30)
    clerk.page.wait_for_selector("#results table")
    assert "3 patient(s) found" in clerk.text("#results")
    assert clerk.page.evaluate("window.stayed") is True
    assert clerk.page.url.endswith("/app/patients?q=Lee")  # the address follows, so Back and reload work
    clerk.check()


def test_each_worklist_lists_its_rows_with_links_to_act_on_them(browser: Any, site: Any) -> None:
    flow = site.flow
    ana = flow.users.get("ana").actor  # linked to a staff record, as the Easy Button needs
    invited = flow.start(StartEnrollment("nextgen-pxp-portal-invites", CLI_ACTOR, patient_id="p-jane"))
    flow.advance(AdvanceEnrollment(invited.enrollment_id, "enroll_now", CLI_ACTOR, invited.version, {
        "confirm_required_fields": True, "enroll_now": "chart_banner"}))
    family = flow.start(StartEnrollment("op-generate-pin-easy-button", ana, household_id="h-lee",
                                        selected_children=("c-ava", "c-cal")))
    printed = flow.advance(AdvanceEnrollment(family.enrollment_id, "register", ana, family.version, {
        "open_registration": "family_contacts", "create_validate_portal_account": True,
        "select_children": ["c-ava", "c-cal"], "click_register": True, "print_pins": True}))
    ava = next(s.value for s in printed.shown if s.patient_id == "c-ava")
    flow.present_pin(PresentPin(ava, date(2018, 6, 1)))
    with flow.db.begin() as conn:  # the mail server refused Jane's invitation for good (the vendor's side)
        conn.execute(update(outbox).where(outbox.c.enrollment_id == invited.enrollment_id).values(
            status="failed", detail="550 mailbox unavailable"))

    clerk = browser()
    clerk.sign_in("ana")
    clerk.open("/app/worklists/invites-waiting")
    assert "Jane Doe" in clerk.text("tbody")
    clerk.open("/app/worklists/households-part-registered")
    row = clerk.text("tbody")
    assert "Kim Lee" in row
    assert "Ava Lee" in row
    assert "Cal Lee" in row
    clerk.open("/app/worklists/messages-failed")
    assert "550 mailbox unavailable" in clerk.text("tbody")
    clerk.click("open", role="link")
    assert f"/app/enrollments/{invited.enrollment_id}" in clerk.page.url
