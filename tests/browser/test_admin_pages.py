"""An admin creates a user who must change their password, resets another's with a reason, changes a role and
revokes tokens; and keeps a site's details, workflows and calendar, with a clear error for a bad calendar."""

from __future__ import annotations

from datetime import date
from typing import Any

from api.cli.users import CLI_ACTOR
from engine.actors import EVERY_SITE
from engine.audit.reading import HistoryQuery


def test_an_admin_creates_a_user_who_must_choose_their_own_password_at_first_sign_in(
        browser: Any, site: Any) -> None:
    admin = browser()
    admin.sign_in("root")
    admin.open("/app/admin/users")
    admin.submit("Create the user", **{"User name": "cara", "Full name": "Cara New Clerk", "Role": "staff",
                                       "First password (at least 12 characters; they must change it at their "
                                       "first sign-in)": "given at the desk 1"})
    assert "Done: created cara." in admin.text()
    assert site.flow.users.get("cara").must_change_password is True

    cara = browser()
    cara.sign_in("cara", "given at the desk 1")
    assert cara.page.url.endswith("/app/password")
    cara.submit("Save my password", **{"New password (at least 12 characters)": "cara's own secret",
                                       "The same again": "cara's own secret"})
    assert "Your password is saved." in cara.text()

    admin.open("/app/admin/users")
    admin.submit("Set the password of bob", **{"New password for bob": "reset for bob 12",
                                               "Reason for bob": "locked out on Monday"})
    assert site.flow.users.get("bob").must_change_password is True
    admin.submit("Change the role of bob", **{"Role of bob": "auditor"})
    assert site.flow.users.get("bob").role == "auditor"
    token = site.flow.users.issue_token(CLI_ACTOR, "dee", "laptop").value
    admin.click("Revoke every token of dee")
    assert "1 token(s) of dee revoked" in admin.text()
    assert _refused(site, token)
    reasons = [e.detail for e in site.flow.histories.find(HistoryQuery(actor_id="root", limit=1000), viewer=EVERY_SITE)]
    assert "set by root: locked out on Monday" in reasons
    assert all("reset for bob" not in (r or "") for r in reasons)  # never the password itself


def _refused(site: Any, token: str) -> bool:
    from engine.errors import AuthenticationFailed

    try:
        site.flow.users.authenticate(token)
    except AuthenticationFailed:
        return True
    return False


def test_an_admin_keeps_a_site_s_details_workflows_and_calendar_and_a_bad_calendar_changes_nothing(
        browser: Any, site: Any) -> None:
    admin = browser()
    admin.sign_in("root")
    admin.open("/app/admin/sites")
    section = admin.page.locator("section[aria-labelledby='site-main']")
    calendar = section.get_by_label("Calendar", exact=False)
    calendar.fill("zone: America/New_York\nhours:\n  mon: ['08:00-17:00']\n  tue: ['08:00-25:00']\n")
    section.get_by_label("Phone").fill("(617) 555-0199")
    with admin.page.expect_navigation():
        section.get_by_role("button", name="Save Maple Family Practice").click()
    admin.check()
    assert "Not saved:" in admin.text(".notice.error")
    assert "25:00" in admin.text(".notice.error")
    assert site.flow.practice.read_site("main").phone == "(617) 555-0100"  # nothing half-written

    section = admin.page.locator("section[aria-labelledby='site-main']")
    section.get_by_label("Calendar", exact=False).fill(
        "zone: America/New_York\ngo_live: 2026-01-05\nhours:\n  mon: ['08:00-17:00']\n"
        "closures:\n  2026-12-24: Christmas Eve\n")
    section.get_by_label("Phone").fill("(617) 555-0199")
    section.get_by_label("Every workflow, including ones added later").uncheck()
    section.get_by_label("Patient Portal: Regenerating an Expired PIN").check()
    with admin.page.expect_navigation():
        section.get_by_role("button", name="Save Maple Family Practice").click()
    admin.check()
    saved = site.flow.practice.read_site("main")
    assert (saved.phone, saved.workflows) == ("(617) 555-0199", ("nextgen-regenerate-expired-pin",))
    assert site.flow.practice.calendar("main").closures == {date(2026, 12, 24): "Christmas Eve"}

    admin.submit("Add the provider", **{"Provider id": "dr-new", "Provider name": "Dr. Nia New"})
    assert "Dr. Nia New" in admin.text()


def test_an_admin_checks_an_export_first_then_imports_it_correcting_the_patients_who_exist(
        browser: Any, site: Any, tmp_path: Any) -> None:
    file = tmp_path / "nightly.csv"
    file.write_text("patient_id,site_id,given_name,family_name,birth_date,email\n"
                    "p-jane,main,Jane,Doe,1980-04-01,jane.doe@example.test\n"
                    "n-1,main,Ann,One,1990-01-01,\n", encoding="utf-8")
    admin = browser()
    admin.sign_in("root")
    admin.open("/app/admin/sites")
    admin.page.get_by_label("A CSV file, or a FHIR R4 Bundle (.json)", exact=False).set_input_files(str(file))
    admin.submit("Import", **{"Only check the file, and write nothing (a dry run)": True,
                              "Correct the patients who already exist": True})
    shown = admin.text("#imported")
    assert "dry run, nothing written: would import 1 patient(s), 0 household(s); would update 1 patient(s)" in shown
    assert "would create: line 3" in shown
    assert "line 2: p-jane: updated email" in shown
    assert "nightly.csv" in shown
    assert site.flow.people.read_patient("p-jane", viewer=EVERY_SITE).patient.email == "jane@example.test"

    admin.page.get_by_label("A CSV file, or a FHIR R4 Bundle (.json)", exact=False).set_input_files(str(file))
    admin.submit("Import", **{"Correct the patients who already exist": True})
    assert "imported 1 patient(s), 0 household(s); updated 1 patient(s), 0 unchanged" in admin.text("#imported")
    assert site.flow.people.read_patient("p-jane", viewer=EVERY_SITE).patient.email == "jane.doe@example.test"
    [corrected] = site.flow.histories.find(HistoryQuery(patient_id="p-jane", action="demographics_updated"),
                                            viewer=EVERY_SITE)
    assert (corrected.actor_id, corrected.reason) == ("root", "import of nightly.csv (web page), line 2")
