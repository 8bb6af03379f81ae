"""Two clerks on one enrollment: the second acts on a page drawn before the first one's change. Nothing of hers is
written; the page names who changed it, shows where it stands now and offers a reload."""

from __future__ import annotations

from typing import Any

from engine.actors import EVERY_SITE


def test_an_action_from_a_page_someone_else_changed_meanwhile_is_refused_with_who_and_a_reload(
        browser: Any, site: Any) -> None:
    ana, bob = browser(), browser()
    ana.sign_in("ana")
    ana.open("/app/patients/p-jane")
    ana.submit("Start", Procedure="Patient Portal Invitation / Password Reset and Onboarding")
    enrollment = ana.page.url.removeprefix(site.url)
    bob.sign_in("bob")
    bob.open(enrollment)  # Bob's page: version 1, "Access Not Enabled"

    ana.act("enable_portal_access", **{"Enabled from": "onboarding_tool"})
    assert "is now “Access Enabled”" in ana.text()

    bob.act("enable_portal_access", **{"Enabled from": "chart_edit_information"})
    stale = bob.text("#stale")
    assert "Ana Front Desk changed this enrollment while you had the page open" in stale
    assert "“Access Enabled”" in stale
    assert "Nothing you entered was saved" in stale
    bob.click("Reload the page", role="link")
    assert bob.page.url.endswith(enrollment)
    assert bob.page.locator("#stale").count() == 0
    history = [e for e in site.flow.histories.find(_about(enrollment), viewer=EVERY_SITE)
               if e.trigger == "enable_portal_access"]
    assert [(e.actor_id, e.outcome) for e in history] == [("ana", "ok")]  # Bob's stale action wrote nothing


def _about(path: str) -> Any:
    from engine.audit.reading import HistoryQuery

    return HistoryQuery(enrollment_id=path.rsplit("/", 1)[1], limit=1000)
