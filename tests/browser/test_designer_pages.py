"""A designer reads the published workflows, sees an enrollment's state highlighted on its diagram (drawn in the
page, offline), checks a draft with a mistyped state name and finds the problem at its line, and previews a
message for the site."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from api.cli.users import CLI_ACTOR
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment


def test_a_designer_sees_the_current_state_highlighted_on_the_workflow_diagram(browser: Any, site: Any) -> None:
    started = site.flow.start(StartEnrollment("nextgen-regenerate-expired-pin", CLI_ACTOR, patient_id="p-jane"))
    site.flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_pin", CLI_ACTOR, started.version))

    designer = browser()
    designer.sign_in("dee")
    designer.click("Workflows", role="link")
    assert "Every workflow file is valid and published." in designer.text()
    designer.open(f"/app/enrollments/{started.enrollment_id}")
    assert designer.page.get_by_role("heading", name="What you can do now").count() == 0  # reads, never acts
    designer.click("see it on the diagram", role="link")
    designer.page.wait_for_selector("#diagram[data-rendered=yes] svg")
    designer.check()
    node = designer.page.locator("#diagram svg g#state-pending_registration")
    assert node.locator("text").first.text_content() == "Pending Registration"
    assert node.locator("path, polygon").first.get_attribute("fill") == "#1d4f91"
    other = designer.page.locator("#diagram svg g#state-registered path, #diagram svg g#state-registered polygon")
    assert other.first.get_attribute("fill") == "#ffffff"
    assert "Pending Registration, highlighted" in designer.text()


def test_a_designer_s_mistyped_state_name_is_shown_at_its_line(browser: Any, workflows_dir: Path) -> None:
    lines = (workflows_dir / "nextgen-regenerate-expired-pin.yaml").read_text(encoding="utf-8").splitlines()
    typo_line = next(i for i, line in enumerate(lines, 1) if line.strip() == "to: registered")
    lines[typo_line - 1] = lines[typo_line - 1].replace("registered", "registerd")

    designer = browser()
    designer.sign_in("dee")
    designer.open("/app/workflows/check")
    designer.page.get_by_label("The workflow (YAML)").fill("\n".join(lines))
    designer.click("Check it")
    assert "draft.yaml has 1 problem(s)" in designer.text("#verdict")
    flagged = designer.page.locator(f"ol.source li#line-{typo_line}")
    assert "problem" in (flagged.get_attribute("class") or "")
    assert "registerd" in flagged.inner_text()
    assert f":{typo_line}:" in flagged.locator(".problem-note").first.inner_text()

    sibling = workflows_dir / "intellichart-pins-for-siblings.yaml"
    designer.page.get_by_label("…or its file").set_input_files(str(sibling))
    designer.page.get_by_label("The workflow (YAML)").fill("")
    designer.click("Check it")
    assert "intellichart-pins-for-siblings.yaml is valid" in designer.text("#verdict")


def test_a_designer_previews_a_message_for_the_site(browser: Any) -> None:
    designer = browser()
    designer.sign_in("dee")
    designer.open("/app/workflows/nextgen-regenerate-expired-pin/versions/2")
    designer.click("preview for Maple Family Practice", role="link")
    assert "Maple Family Practice" in designer.text(".letter")
    designer.submit("Preview", **{"For patient (MRN) empty: a sample person": "p-noemail"})
    assert "Dear Nora Mail," in designer.text(".letter")
    assert "Your PIN: " in designer.text(".letter")  # a placeholder stands for the PIN: none exists yet
