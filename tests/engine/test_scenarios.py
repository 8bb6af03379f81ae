"""Every scenario in workflows/scenarios/ runs on the real engine with a fake clock and meets its expectations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.designer.simulation import ScenarioInvalid, load_scenario, run_scenario

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "workflows"
SCENARIOS = sorted((WORKFLOWS / "scenarios").glob("*.yaml"))

HAPPY = WORKFLOWS / "scenarios" / "nextgen-regenerate-expired-pin--happy-path.yaml"


def test_there_is_a_scenario_for_every_workflow() -> None:
    covered = {path.name.split("--")[0] for path in SCENARIOS}
    assert covered == {path.stem for path in WORKFLOWS.glob("*.yaml")}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_the_scenario_meets_every_expectation_on_the_real_engine(scenario: Path) -> None:
    report = run_scenario(scenario, WORKFLOWS)
    assert report.ok, f"{report.failure}\n" + "\n".join(report.timeline)
    assert report.failure is None


def test_a_wrong_expectation_fails_naming_the_step_its_line_and_what_differed(tmp_path: Path) -> None:
    text = HAPPY.read_text(encoding="utf-8").replace("expect: {state: registered,", "expect: {state: pin_expired,")
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(text, encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "state: pin_expired" in row)
    report = run_scenario(wrong, WORKFLOWS)
    assert not report.ok
    assert report.failure == (f"step 2 ({wrong}, line {line}): expected state: 'pin_expired', got 'registered'")
    assert report.timeline[-1].endswith(f"FAILED {report.failure}")


def test_an_unexpected_refusal_fails_naming_the_step(tmp_path: Path) -> None:
    text = HAPPY.read_text(encoding="utf-8").replace("email: jane@example.test, ", "")
    wrong = tmp_path / "no-email.yaml"
    wrong.write_text(text, encoding="utf-8")
    report = run_scenario(wrong, WORKFLOWS)
    assert not report.ok
    assert report.failure is not None
    assert report.failure.startswith("step 1 (")
    assert "fire generate_pin by ana was refused unexpectedly: refused: email address is missing" in report.failure


def test_no_pin_or_link_appears_in_the_timeline() -> None:
    for scenario in SCENARIOS:
        timeline = "\n".join(run_scenario(scenario, WORKFLOWS).timeline)
        assert not re.search(r"\b[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}\b", timeline), scenario.name
        assert "/access/" not in timeline, scenario.name
    assert "PIN shown to staff" in "\n".join(run_scenario(HAPPY, WORKFLOWS).timeline)


def test_an_unknown_key_in_a_scenario_is_refused_naming_the_key_and_its_line(tmp_path: Path) -> None:
    text = HAPPY.read_text(encoding="utf-8").replace("    as: ana\n", "    as: ana\n    colour: red\n", 1)
    wrong = tmp_path / "unknown-key.yaml"
    wrong.write_text(text, encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "colour" in row)
    with pytest.raises(ScenarioInvalid, match=rf"unknown-key.yaml:{line}:5: unknown key 'colour' in step 1"):
        load_scenario(wrong)


def test_a_step_that_goes_back_in_time_is_refused(tmp_path: Path) -> None:
    text = HAPPY.read_text(encoding="utf-8").replace('at: "+29d23h"', 'at: "2026-03-01T00:00:00Z"')
    wrong = tmp_path / "backwards.yaml"
    wrong.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioInvalid, match=r"'at' in step 2 goes back in time"):
        load_scenario(wrong)
