"""The clerk's morning: the home page counts what needs doing, and each worklist opens on its rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.cli.users import CLI_ACTOR
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment


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
