"""The onboarding list: access shown in colour, many patients enabled and invited at once, each row's outcome."""

from __future__ import annotations

from typing import Any

from engine.actors import EVERY_SITE


def test_a_clerk_enables_and_invites_several_patients_and_reads_each_outcome(browser: Any, site: Any) -> None:
    clerk = browser()
    clerk.sign_in("ana")
    clerk.open("/app/onboarding")
    jane = clerk.page.locator("tr", has=clerk.page.get_by_label("Select Jane Doe"))
    assert jane.locator(".status.off").inner_text() == "disabled"
    red = jane.locator(".status.off").evaluate("e => getComputedStyle(e).color")
    assert red == "rgb(163, 22, 27)"  # disabled in red, as the handout's list shows it

    clerk.page.get_by_label("Select Jane Doe").check()
    clerk.page.get_by_label("Select Nora Mail").check()  # no email on file: her invitation is refused
    clerk.submit("Enable access and send the invitations", **{
        "I confirmed with each selected patient that the email on file is correct and their own": True})
    outcomes = {row.locator("td").first.inner_text(): row.inner_text()
                for row in clerk.page.locator("#outcomes tbody tr").all()}
    assert "sent" in outcomes["Jane Doe"]
    assert "Invitation Sent" in outcomes["Jane Doe"]
    assert "refused" in outcomes["Nora Mail"]
    assert "email" in outcomes["Nora Mail"]
    assert site.flow.people.read_patient("p-jane", viewer=EVERY_SITE).patient.portal_access_enabled is True
    jane = clerk.page.locator("tr", has=clerk.page.get_by_label("Select Jane Doe"))
    assert jane.locator(".status.on").inner_text() == "enabled"
