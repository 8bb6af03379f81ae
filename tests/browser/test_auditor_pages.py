"""An auditor finds a patient's history, reads it as a timeline, sees it verified and downloads each export."""

from __future__ import annotations

import json
from contextlib import suppress
from pathlib import Path
from typing import Any

from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment
from engine.errors import Refused


def test_an_auditor_finds_a_patient_s_history_sees_it_verified_and_downloads_each_export(
        browser: Any, site: Any) -> None:
    ana = site.flow.users.get("ana").actor
    started = site.flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ana, patient_id="p-noemail"))
    with suppress(Refused):  # no email yet: the refusal is part of the history
        site.flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_pin", ana, started.version))
    site.flow.people.update_patient(ana, "p-noemail", {"email": "nora@example.test"})
    moved = site.flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_pin", ana, None))
    [pin] = [s.value for s in moved.shown]

    auditor = browser()
    auditor.sign_in("audrey")
    auditor.click("Find a history", role="link")
    auditor.submit("Show the history", **{"Patient (MRN) with their households": "p-noemail"})
    timeline = auditor.text("table.timeline")
    assert "Ana Front Desk" in timeline
    assert "Not Enrolled → Pending Registration" in timeline  # statuses in the workflow's own words
    assert "refused" in timeline
    assert "nextgen-regenerate-expired-pin v2" in timeline
    assert "EST" in timeline  # the site's time beside UTC
    assert "UTC" in timeline
    assert pin not in auditor.page.content()

    for link, needle in (("CSV", "enrollment_id"), ("JSON lines", '"hash"'), ("FHIR AuditEvent (NDJSON)",
                                                                             '"resourceType"')):
        with auditor.page.expect_download() as download:
            auditor.page.get_by_role("link", name=link).click()
        body = Path(download.value.path()).read_text(encoding="utf-8")
        assert needle in body
        assert started.enrollment_id in body
        assert pin not in body
        if link == "JSON lines":
            assert all(json.loads(line) for line in body.splitlines())

    auditor.click("Verify the whole history", role="link")
    assert "Verified:" in auditor.text("#verdict")

    auditor.open("/app/audit")
    auditor.submit("Show the history", User="Bob New Hire (bob)")  # what a user did
    assert "password set" in auditor.text("table.timeline")
    assert "Ana Front Desk" not in auditor.text("table.timeline")


def test_a_clerk_cannot_open_the_auditor_s_pages(browser: Any) -> None:
    clerk = browser()
    clerk.sign_in("ana")
    response = clerk.open("/app/audit")
    assert response.status == 403
    assert "This page is for auditor or admin users" in clerk.text()
