"""The designer's command line: validate, diagram and schema behave as the reference says."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from api.cli import main
from definitions import workflow_schema

FIVE = [
    "nextgen-regenerate-expired-pin",
    "op-generate-pin-easy-button",
    "intellichart-pins-for-siblings",
    "nextgen-pxp-portal-invites",
    "portal-invitation-reset-onboarding",
]


def test_validate_accepts_the_shipped_workflows_and_lists_the_warnings_they_acknowledge(
    workflows_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(workflows_dir)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "ok: 5 workflow file(s) checked, 0 error(s), 0 warning(s), 12 acknowledged"
    assert ("nextgen-regenerate-expired-pin.yaml:41:9: acknowledged: PIN lifetime 30d is longer than NIST SP "
            "800-63A's guidance of 24h for an enrollment code sent by secure message (message "
            "'enrollment_notification'); the practice's reason: The NextGen handout sets it: \"the new PIN "
            "expires in 30 days\".") in out


def test_validate_exits_1_listing_every_error_with_its_position(
    write_workflow: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\nversion: 0\ntitle: x\nsource: nowhere.txt\nsubject: pet\n", encoding="utf-8")
    assert main(["validate", str(bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert f"{bad}:2:10: version must be at least 1, got 0" in lines
    assert f"{bad}:5:10: subject must be one of patient, household, got 'pet'" in lines
    assert f"{bad}:1:1: the workflow is missing required key 'states'" in lines
    assert lines[-1].startswith("FAILED: 1 workflow file(s) checked, ")


def test_validate_reports_two_files_claiming_one_id_and_version(
    workflows_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = workflows_dir / "nextgen-pxp-portal-invites.yaml"
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "templates").symlink_to(workflows_dir / "templates")
    (tmp_path / "handouts").symlink_to(workflows_dir / "handouts")
    assert main(["validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'b.yaml'}:1:1: workflow 'nextgen-pxp-portal-invites' version 2 is also defined in " in out


def test_validate_names_a_path_that_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.yaml"
    assert main(["validate", str(missing)]) == 1
    assert f"{missing}:1:1: no such file or folder" in capsys.readouterr().out


@pytest.mark.parametrize("workflow_id", FIVE)
def test_diagram_renders_each_workflow_by_id_with_business_statuses(
    workflow_id: str, workflows_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diagram", workflow_id, "--workflows", str(workflows_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("stateDiagram-v2\n")
    assert "    [*] --> " in out
    assert " --> [*]" in out
    if workflow_id != "nextgen-pxp-portal-invites" and workflow_id != "portal-invitation-reset-onboarding":
        assert 'state "Pending Registration" as pending_registration' in out


def test_diagram_accepts_a_path_and_labels_timer_and_portal_transitions(
    workflows_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diagram", str(workflows_dir / "nextgen-regenerate-expired-pin.yaml")]) == 0
    out = capsys.readouterr().out
    assert "pending_registration --> pin_expired : expire_pin [timer] (after 30d)" in out
    assert "pending_registration --> registered : register_with_pin [portal]" in out


def test_diagram_of_an_unknown_id_says_so(workflows_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", "no-such-workflow", "--workflows", str(workflows_dir)]) == 1
    assert f"no workflow with id 'no-such-workflow' in {workflows_dir}" in capsys.readouterr().err


def test_the_schema_in_docs_is_the_one_the_command_prints(
    repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    kept = json.loads((repo_root / "docs" / "workflow.schema.json").read_text(encoding="utf-8"))
    assert printed == kept, "docs/workflow.schema.json is stale: run portalflow schema > docs/workflow.schema.json"


@pytest.mark.parametrize("workflow_id", FIVE)
def test_every_shipped_workflow_conforms_to_the_json_schema(workflow_id: str, workflows_dir: Path) -> None:
    document = YAML(typ="safe", pure=True).load((workflows_dir / f"{workflow_id}.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(document, workflow_schema())


def test_the_json_schema_rejects_an_unknown_key_and_an_unknown_guard(workflows_dir: Path) -> None:
    document = YAML(typ="safe", pure=True).load(
        (workflows_dir / "nextgen-pxp-portal-invites.yaml").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(workflow_schema())
    document["states"]["invited"]["colour"] = "red"
    document["transitions"][0]["guards"] = ["no_such_guard"]
    messages = [e.message for e in validator.iter_errors(document)]
    assert any("'colour' was unexpected" in m for m in messages)
    assert any("no_such_guard" in m for m in messages)


def test_validate_reports_a_broken_template_with_its_line(
    workflows_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    shutil.copytree(workflows_dir, tmp_path / "wf", ignore=shutil.ignore_patterns("scenarios"))
    template = tmp_path / "wf" / "templates" / "pin_printout.j2"
    lines = template.read_text(encoding="utf-8").splitlines()
    lines.insert(2, "{% if pins %}")
    template.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["validate", str(tmp_path / "wf")]) == 1
    out = capsys.readouterr().out
    assert f"{template}:" in out
    assert out.splitlines()[-1].startswith("FAILED: 5 workflow file(s) checked, ")
