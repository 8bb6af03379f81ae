"""`portalflow simulate` prints a readable timeline and exits 1 naming the first failed expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.cli import main


def test_simulate_prints_the_timeline_and_exits_0_when_every_expectation_holds(
    workflows_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = workflows_dir / "scenarios" / "nextgen-regenerate-expired-pin--expired-on-day-30.yaml"
    assert main(["simulate", str(scenario), "--workflows", str(workflows_dir)]) == 0
    out = capsys.readouterr().out
    assert "present PIN of p-jane: refused (expired): the PIN or link was not accepted" in out
    assert ("sweep: timer 'pin_expiry' due 2026-04-01 14:00 UTC: expire_pin by system: "
            "pending_registration -> pin_expired") in out


def test_simulate_exits_1_naming_the_failed_expectation(
    workflows_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = workflows_dir / "scenarios" / "nextgen-regenerate-expired-pin--happy-path.yaml"
    broken = tmp_path / "broken.yaml"
    text = source.read_text(encoding="utf-8")
    assert "state: registered" in text
    broken.write_text(text.replace("state: registered", "state: pin_expired"), encoding="utf-8")
    assert main(["simulate", str(broken), "--workflows", str(workflows_dir)]) == 1
    failure = capsys.readouterr().out.splitlines()[-1]
    assert failure.startswith("FAILED: step ")
    assert "expected state: 'pin_expired', got 'registered'" in failure
