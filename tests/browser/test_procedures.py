"""Each of the five procedures done by a clerk through the pages alone, from the patient search to the final state,
each with a refused step and its correction. The portal's side (a patient registering with a PIN, an account
activated, a first login) is the vendor's system: the tests play it by calling the engine as the integration does.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.cli.users import CLI_ACTOR
from definitions.model import Actor as ActorKind
from engine.actors import acting_as
from engine.enrollments.portal import PresentPin
from engine.errors import CredentialRefused


def find_and_open(clerk: Any, query: str, name: str) -> None:
    clerk.open("/app/home")
    clerk.submit("Search", **{"Find a patient (name, birth date or MRN)": query})
    clerk.click(name, role="link")


def start(clerk: Any, procedure: str, **fields: Any) -> None:
    clerk.submit("Start", Procedure=procedure, **fields)
    assert "/app/enrollments/" in clerk.page.url


def status(clerk: Any) -> str:
    return str(clerk.page.locator("dl.facts .status").first.inner_text())


def refusal(clerk: Any, trigger: str) -> str:
    return str(clerk.page.locator(f"#refused-{trigger}").inner_text())


def test_a_clerk_regenerates_an_expired_nextgen_pin_after_adding_the_missing_email_and_the_right_provider(
        browser: Any, site: Any) -> None:
    clerk = browser()
    clerk.sign_in("ana")
    find_and_open(clerk, "Mail", "Nora Mail")
    assert "no email address" in clerk.text(".notice.warn")
    start(clerk, "Patient Portal: Regenerating an Expired PIN")
    enrollment = clerk.page.url
    assert status(clerk) == "Not Enrolled"

    clerk.act("generate_pin")
    assert "email address is missing" in refusal(clerk, "generate_pin")
    clerk.click("Nora Mail", role="link")
    clerk.submit("Save the details", Email="nora@example.test",
                 **{"The patient confirmed this email is their own, not shared": True})
    assert "Saved: email, email_confirmed_personal." in clerk.text()
    clerk.open(enrollment.removeprefix(site.url))
    clerk.act("generate_pin")
    [first_pin] = clerk.shown().values()
    slip = clerk.text("article.letter")  # no letter in this workflow: a slip to print, with the portal's address
    assert f"Nora Mail: PIN {first_pin}" in slip
    assert "https://portal.example.test" in slip
    site.background_round()

    site.clock.advance(timedelta(days=30))
    site.background_round()
    with pytest.raises(CredentialRefused):  # Nora tries the lapsed PIN at the portal, and is only told "no"
        site.flow.present_pin(PresentPin(first_pin, date(1975, 1, 2)))
    clerk.open(enrollment.removeprefix(site.url))
    assert "Your session ended" in clerk.text()  # a month later: she signs in again, and lands where she asked
    clerk.submit("Sign in", **{"User name": "ana", "Password": "a long password 1"})
    assert clerk.page.url == enrollment
    assert status(clerk) == "PIN Expired"
    assert "an expired PIN of p-noemail was presented" in clerk.text()  # staff see why the portal said no
    steps = {"Update started": True, "Encounter type is Portal Pin Generator": True, "Provider": "Dr. Oz Other",
             "Regenerate clicked": True, "Update ended": True, "Route to": "", "Document signed": True}
    clerk.act("regenerate_pin", **steps)
    assert "provider must be the patient's PCP: Dr. Pat Primary" in refusal(clerk, "regenerate_pin")
    assert clerk.page.get_by_label("Update started").is_checked()  # what the clerk entered is still there
    clerk.page.get_by_role("radio", name="No").check()
    clerk.act("regenerate_pin", Provider="Dr. Pat Primary (primary care provider)")
    [new_pin] = clerk.shown().values()
    assert new_pin != first_pin

    registered = site.flow.present_pin(PresentPin(new_pin, date(1975, 1, 2)))
    assert registered.status == "Registered"
    clerk.open(enrollment.removeprefix(site.url))
    assert status(clerk) == "Registered"
    assert "This enrollment is finished" in clerk.text()

    auditor = browser()  # the compliance officer finds that very history
    auditor.sign_in("audrey")
    auditor.open("/app/audit")
    auditor.submit("Show the history", **{"Patient (MRN) with their households": "p-noemail"})
    timeline = auditor.text("table.timeline")
    for seen in ("Not Enrolled → Pending Registration", "Pending Registration → PIN Expired",
                 "PIN Expired → Pending Registration", "Pending Registration → Registered", "refused"):
        assert seen in timeline
    assert first_pin not in auditor.page.content()
    assert new_pin not in auditor.page.content()
    for link in ("CSV", "JSON lines", "FHIR AuditEvent (NDJSON)"):
        with auditor.page.expect_download() as download:
            auditor.page.get_by_role("link", name=link).click()
        exported = Path(download.value.path()).read_text(encoding="utf-8")
        assert enrollment.rsplit("/", 1)[1] in exported
        assert first_pin not in exported
        assert new_pin not in exported
    auditor.click("Verify the whole history", role="link")
    assert "Verified:" in auditor.text("#verdict")


def test_a_clerk_prints_one_household_letter_of_easy_button_pins_for_the_chosen_siblings(
        browser: Any, site: Any, tmp_path: Any) -> None:
    clerk = browser()
    clerk.sign_in("ana")
    find_and_open(clerk, "Lee Ava", "Ava Lee")
    clerk.click("Kim Lee's household", role="link")
    start(clerk, "Generate a Patient Portal PIN From OP (Easy Button)",
          **{"Baby Girl Lee (2021-09-09)": False})
    steps = {"Opened from": "family_contacts", "Intelichart Registration window is open": True,
             "Children to register": ["Ava Lee", "Cal Lee"], "Printout handed to the parent": True}
    clerk.act("register", **steps)
    assert "step 'click_register' is not done" in refusal(clerk, "register")
    clerk.act("register", **{"Register clicked": True, "Children to register": ["Ava Lee", "Cal Lee"]})
    pins = clerk.shown()
    assert set(pins) == {"Ava Lee", "Cal Lee"}

    letter = clerk.text("article.letter")
    assert f"Ava Lee: PIN {pins['Ava Lee']}" in letter
    assert f"Cal Lee: PIN {pins['Cal Lee']}" in letter
    assert "https://portal.example.test" in letter
    clerk.page.emulate_media(media="print")
    assert clerk.page.locator("article.letter").is_visible()
    assert not clerk.page.locator("header.top").is_visible()
    assert not clerk.page.locator("table.shown").is_visible()
    pdf = clerk.page.pdf()
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1  # one household, one page
    (tmp_path / "letter.pdf").write_bytes(pdf)
    clerk.page.emulate_media(media="screen")

    first = site.flow.present_pin(PresentPin(pins["Ava Lee"], date(2018, 6, 1)))
    assert first.status == "Partially Registered"
    second = site.flow.present_pin(PresentPin(pins["Cal Lee"], date(2016, 2, 2), trigger="add_another_child"))
    assert second.status == "Registered"
    clerk.page.reload()
    clerk.check()
    assert status(clerk) == "Registered"


def test_a_clerk_renames_a_newborn_before_intellichart_pins_for_siblings_and_the_guardian_registers_both(
        browser: Any, site: Any) -> None:
    clerk = browser()
    clerk.sign_in("ana")
    find_and_open(clerk, "2016-02-02", "Cal Lee")
    clerk.click("Kim Lee's household", role="link")
    start(clerk, "Workflow: PIN Generation for Multiple Patients of the Same Family",
          **{"Ava Lee (2018-06-01)": False})
    enrollment = clerk.page.url.removeprefix(site.url)
    steps = {"Children (first one gets the Welcome Email)": ["Cal Lee", "Baby Girl Lee"],
             "Generated from": "appointment_list",
             "Do not send PIN is not selected for the first child": True, "First child's PIN generated": True,
             "PIN generation started for the siblings": True, "Do not send PIN is selected for every sibling": True,
             "Sibling PINs handed to the parent/guardian": True, "Sibling PINs generated": True}
    clerk.act("generate_sibling_pins", **steps)
    assert "name is still 'Baby Girl Lee'" in refusal(clerk, "generate_sibling_pins")

    clerk.click("Baby Girl Lee", role="link") if clerk.page.get_by_role("link", name="Baby Girl Lee").count() \
        else clerk.open("/app/patients/c-ben")
    clerk.submit("Save the details", **{"Given name": "Bea"})
    clerk.open(enrollment)
    steps["Children (first one gets the Welcome Email)"] = ["Cal Lee", "Bea Lee"]
    clerk.act("generate_sibling_pins", **steps)
    pins = clerk.shown()
    assert set(pins) == {"Cal Lee", "Bea Lee"}
    # The first child in the household's order (Bea) gets the Welcome Email; her sibling's PIN is printed.
    assert f"Cal Lee: PIN {pins['Cal Lee']}" in clerk.text("article.letter")
    assert pins["Bea Lee"] not in clerk.text("article.letter")

    site.flow.present_pin(PresentPin(pins["Bea Lee"], date(2021, 9, 9)))
    site.flow.present_pin(PresentPin(pins["Cal Lee"], date(2016, 2, 2), trigger="add_another_child"))
    clerk.open(enrollment)
    assert status(clerk) == "Registered"


def test_a_clerk_sends_a_pxp_invite_with_enroll_now_and_it_stops_at_activation(browser: Any, site: Any) -> None:
    clerk = browser()
    clerk.sign_in("ana")
    find_and_open(clerk, "p-jane", "Jane Doe")
    start(clerk, "NextGen PxP Portal Enrollments Overview")
    enrollment = clerk.page.url.removeprefix(site.url)
    clerk.act("enroll_now", **{"Enroll Now from": "chart_banner"})
    assert "step 'confirm_required_fields' is not done" in refusal(clerk, "enroll_now")
    clerk.act("enroll_now", **{"Required fields confirmed": True})
    assert "is now “Invited”" in clerk.text()

    site.flow.report_activation("p-jane", acting_as(ActorKind.INTEGRATION))  # the EHR says the account is active
    clerk.open(enrollment)
    assert status(clerk) == "Activated"


def test_a_clerk_enables_access_confirms_the_email_and_sets_credentials_the_patient_then_uses(
        browser: Any, site: Any) -> None:
    site.flow.people.update_patient(CLI_ACTOR, "p-jane", {"email_confirmed_personal": False})
    clerk = browser()
    clerk.sign_in("ana")
    find_and_open(clerk, "Doe Jane", "Jane Doe")
    start(clerk, "Patient Portal Invitation / Password Reset and Onboarding")
    enrollment = clerk.page.url.removeprefix(site.url)
    clerk.act("enable_portal_access", **{"Enabled from": "onboarding_tool"})
    clerk.open(enrollment)
    assert status(clerk) == "Access Enabled"

    send = {"Sent from": "chart_edit_information", "The address is correct and personal to the patient": True}
    clerk.act("send_invitation", **send)
    assert "email address has not been confirmed" in refusal(clerk, "send_invitation")
    clerk.click("Jane Doe", role="link")
    clerk.submit("Save the details", **{"The patient confirmed this email is their own, not shared": True})
    clerk.open(enrollment)
    clerk.act("send_invitation", **send)
    clerk.open(enrollment)
    assert status(clerk) == "Invitation Sent"

    manual = {"Patient Portal tab is open": True, "Username": "jane.doe", "Temporary password": "Temp-Pass-2026!",
              "Saved": True, "Handed over": "in_person"}
    section = clerk.page.locator("section[aria-labelledby='a-set_credentials_manually']")
    why = section.get_by_label("Why (kept in the history)")
    section.get_by_role("button").click()  # no reason yet: the browser keeps the form and says what is missing
    assert why.evaluate("e => e.validity.valueMissing") is True
    assert clerk.page.url.endswith(enrollment)
    clerk.act("set_credentials_manually", **{"Why (kept in the history)": "no email access at home"}, **manual)
    assert "is now “Credentials Set by Staff”" in clerk.text()

    [moved] = site.flow.report_first_login("jane.doe")
    assert moved.status == "Account Set Up"
    clerk.open(enrollment)
    assert status(clerk) == "Account Set Up"
