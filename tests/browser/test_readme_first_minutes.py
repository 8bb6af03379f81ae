"""The README's first minutes, in Chromium, as written: the first admin (made from the shell) signs in, adds the
site, the provider and the sample patients, creates Ana; Ana generates Maria Garcia's PIN. Then the other pages the
README shows: the household letter, the auditor's timeline and the designer's diagram.

With PORTALFLOW_SCREENSHOTS=docs/screenshots, the README's screenshots are taken anew there (otherwise into the
test's own folder, so that taking them is tested on every run).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_site import Site, engine_on_file, serving
from fakes import FakeClock

from api.cli.users import CLI_ACTOR

ROOT = Path(__file__).resolve().parents[2]
FIRST = "the first admin 1"
OWN = "admin's own password"
ANA_FIRST = "ana's first password"
ANA_OWN = "ana's own password"


@pytest.fixture
def site(tmp_path: Path, clock: FakeClock, workflows_dir: Path) -> Iterator[Site]:
    """A fresh service: only the first admin, made as the README's shell lines make it."""
    flow = engine_on_file(tmp_path, clock, workflows_dir)
    flow.users.create(CLI_ACTOR, "admin", "First Admin", "admin")
    flow.users.set_password(CLI_ACTOR, "admin", FIRST, "the first admin")
    with serving(flow, clock, workflows_dir) as running:
        yield running
    flow.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("PORTALFLOW_SCREENSHOTS") or tmp_path / "screenshots")
    folder = folder if folder.is_absolute() else ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def snap(page: Any, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000  # a real picture, not a blank page


def test_the_readme_first_minutes_in_the_browser_and_its_screenshots(browser: Any, site: Site, shots: Path) -> None:
    admin = browser()
    admin.page.set_viewport_size({"width": 1200, "height": 800})
    admin.sign_in("admin", FIRST)  # 1.
    admin.submit("Save my password", **{"New password (at least 12 characters)": OWN, "The same again": OWN})

    admin.open("/app/admin/sites")  # 2.
    admin.submit("Add the site", **{"Site id": "main", "Site name": "Maple Family Practice",
                                    "Time zone": "America/New_York",
                                    "Portal address of the site": "https://portal.example.test",
                                    "Phone of the site": "(617) 555-0100"})
    admin.submit("Add the provider", **{"Provider id": "dr-pcp", "Provider name": "Dr. Pat Primary"})
    admin.page.get_by_label("A CSV file, or a FHIR R4 Bundle (.json)", exact=False).set_input_files(
        str(ROOT / "docs" / "samples" / "patients.csv"))
    admin.click("Import")
    assert "imported 10 patient(s), 2 household(s); rejected 0 row(s)" in admin.text("#imported")

    admin.open("/app/admin/users")  # 3.
    admin.submit("Create the user", **{"User name": "ana", "Full name": "Ana Front Desk", "Role": "staff",
                                       "Linked to a staff record in the practice portal": True,
                                       "First password (at least 12 characters; they must change it at their "
                                       "first sign-in)": ANA_FIRST})
    admin.click("Sign out")

    ana = browser()  # 4.
    ana.page.set_viewport_size({"width": 1200, "height": 800})
    ana.sign_in("ana", ANA_FIRST)
    ana.submit("Save my password", **{"New password (at least 12 characters)": ANA_OWN, "The same again": ANA_OWN})
    ana.submit("Search", **{"Find a patient (name, birth date or MRN)": "Garcia"})
    ana.click("Maria Garcia", role="link")
    ana.submit("Start", Procedure="Patient Portal: Regenerating an Expired PIN")
    snap(ana.page, shots / "staff-enrollment.png")
    enrollment = ana.page.url.removeprefix(site.url)
    ana.act("generate_pin")
    assert len(ana.shown()) == 1

    ana.open("/app/patients/mrn-1009")  # the Browns' household letter, printed
    ana.click("Emma Brown's household", role="link")
    ana.submit("Start", Procedure="Generate a Patient Portal PIN From OP (Easy Button)")
    ana.act("register", **{"Opened from": "family_contacts", "Intelichart Registration window is open": True,
                           "Register clicked": True, "Printout handed to the parent": True})
    pins = list(ana.shown().values())
    ana.page.emulate_media(media="print")
    # No PIN in a picture, even a test database's: each is blotted out before the screenshot is taken.
    ana.page.evaluate("""pins => document.querySelectorAll("article.letter pre").forEach(pre => {
        pins.forEach(pin => { pre.textContent = pre.textContent.replaceAll(pin, "••••-••••"); }); })""", pins)
    assert not any(pin in ana.text("article.letter") for pin in pins)
    snap(ana.page, shots / "household-letter.png")
    ana.page.emulate_media(media="screen")

    admin.sign_in("admin", OWN)
    admin.open("/app/audit?patient_id=mrn-1001")
    assert "Ana Front Desk" in admin.text("table.timeline")
    snap(admin.page, shots / "auditor-timeline.png")
    admin.open(enrollment)
    admin.click("see it on the diagram", role="link")
    admin.page.wait_for_selector("#diagram[data-rendered=yes] svg")
    snap(admin.page, shots / "designer-diagram.png")
