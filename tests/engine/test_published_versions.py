"""Published versions live in the database: a running enrollment keeps its version whatever the designers' folder
holds now, and a file that cannot be taken is left out with its reason, never stopping the service. On SQLite and
PostgreSQL."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from practice import seed_practice
from sqlalchemy import select

from api.cli import main
from definitions.errors import DefinitionInvalid
from definitions.model import Actor
from engine.actors import ActorRef
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment
from engine.enrollments.steps import CompleteStep
from engine.storage.tables import outbox, workflow_versions

ANA = ActorRef("ana", "staff", Actor.STAFF)
KEY = b"q" * 43 + b"="
ONBOARDING = "portal-invitation-reset-onboarding"


@pytest.fixture
def room(tmp_path: Path, workflows_dir: Path) -> Path:
    """A designers' folder of our own, to edit: a copy of the shipped one."""
    copy = tmp_path / "workflows"
    shutil.copytree(workflows_dir, copy, ignore=shutil.ignore_patterns("scenarios"))
    for workflow in copy.glob("*.yaml"):  # each as its version 1, whatever version is shipped
        text = workflow.read_text(encoding="utf-8")
        workflow.write_text(re.sub(r"^version: \d+$", "version: 1", text, count=1, flags=re.M), encoding="utf-8")
    return copy


def start_service(database_url: str, room: Path, clock: Any, *, strict: bool = False, seed: bool = False) -> Any:
    flow = build(database_url, room, clock=clock, hash_cost=TEST_COST, secret_key=KEY, mail_folder=room / "mail",
                 skip_invalid_workflows=not strict)
    if seed:
        seed_practice(flow.db)
    return flow


def edit(room: Path, name: str, old: str, new: str) -> None:
    path = room / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def invite_jane(flow: Any) -> str:
    """Jane's onboarding enrollment, invited: a link sent by email, its expiry timer armed."""
    eid = str(flow.start(StartEnrollment(ONBOARDING, ANA, patient_id="p-jane")).enrollment_id)
    flow.advance(AdvanceEnrollment(eid, "enable_portal_access", ANA, inputs={"enable_access": "onboarding_tool"}))
    flow.complete_step(CompleteStep(eid, "send_invitation", "send_from", "onboarding_tool", ANA))
    flow.complete_step(CompleteStep(eid, "send_invitation", "confirm_email_personal", True, ANA))
    flow.advance(AdvanceEnrollment(eid, "send_invitation", ANA))
    return eid


def bodies(flow: Any) -> list[str]:
    with flow.db.connect() as conn:
        return [str(b) for b in conn.execute(select(outbox.c.body).order_by(outbox.c.id)).scalars()]


def test_a_version_is_published_with_its_text_its_templates_who_and_when(database_url: str, room: Path,
                                                                          clock: Any) -> None:
    flow = start_service(database_url, room, clock)
    with flow.db.connect() as conn:
        row = conn.execute(select(workflow_versions).where(workflow_versions.c.workflow_id == ONBOARDING)).one()
    assert row.source == (room / f"{ONBOARDING}.yaml").read_text(encoding="utf-8")
    assert row.templates == {"portal_invitation_reset": (room / "templates" / "portal_invitation_reset.j2")
                             .read_text(encoding="utf-8")}
    assert (row.published_by, row.file_name) == ("service", f"{ONBOARDING}.yaml")
    assert row.published_at is not None
    flow.close()


def test_a_published_version_runs_from_the_database_when_its_file_is_gone(database_url: str, room: Path,
                                                                         clock: Any) -> None:
    flow = start_service(database_url, room, clock, seed=True)
    eid = invite_jane(flow)
    flow.close()
    (room / f"{ONBOARDING}.yaml").unlink()
    (room / "templates" / "portal_invitation_reset.j2").unlink()
    restarted = start_service(database_url, room, clock)
    assert restarted.catalog.left_out == ()
    assert restarted.describe(eid, ANA).status == "Invitation Sent"
    restarted.advance(AdvanceEnrollment(eid, "send_invitation", ANA, inputs={
        "send_from": "chart_edit_information", "confirm_email_personal": True}))
    assert len(bodies(restarted)) == 2  # the template came from the database
    restarted.close()


def test_an_edit_of_a_published_version_leaves_the_file_out_and_says_how_to_publish_it(
        database_url: str, room: Path, clock: Any) -> None:
    flow = start_service(database_url, room, clock, seed=True)
    eid = invite_jane(flow)
    flow.close()
    edit(room, f"{ONBOARDING}.yaml", "description: An invitation/reset email was sent; the patient has not used the "
         "link yet.", "description: An invitation/reset email went out; the link is not used yet.")
    restarted = start_service(database_url, room, clock)  # the service still starts
    (left_out,) = restarted.catalog.left_out
    assert left_out.path == str(room / f"{ONBOARDING}.yaml")
    (problem,) = left_out.problems
    assert problem.startswith(f"{room / ONBOARDING}.yaml:6:1: version 1 of '{ONBOARDING}' was already published by "
                              "service on ")
    assert problem.endswith("with different content: raise `version` to 2 to publish the change (running "
                            "enrollments stay on version 1)")
    assert restarted.describe(eid, ANA).status == "Invitation Sent"  # on the published version 1, as it was
    restarted.close()
    with pytest.raises(DefinitionInvalid, match="raise `version` to 2"):
        start_service(database_url, room, clock, strict=True).close()


def test_raising_the_version_in_place_keeps_running_enrollments_on_the_old_one_with_its_templates(
        database_url: str, room: Path, clock: Any) -> None:
    flow = start_service(database_url, room, clock, seed=True)
    old = invite_jane(flow)
    flow.close()
    edit(room, f"{ONBOARDING}.yaml", "version: 1", "version: 2")
    edit(room, "templates/portal_invitation_reset.j2", "{% block body %}", "{% block body %}Version two.\n")
    restarted = start_service(database_url, room, clock)
    assert restarted.catalog.left_out == ()
    assert [d.version for d in restarted.catalog.all() if d.id == ONBOARDING] == [1, 2]
    assert restarted.describe(old, ANA).workflow_version == 1
    restarted.advance(AdvanceEnrollment(old, "send_invitation", ANA, inputs={
        "send_from": "chart_edit_information", "confirm_email_personal": True}))
    assert not bodies(restarted)[-1].startswith("Version two.")  # version 1's template, from the database
    new = restarted.start(StartEnrollment(ONBOARDING, ANA, patient_id="p-noemail"))
    assert new.workflow_version == 2
    restarted.close()


def test_validate_against_the_database_reports_an_edit_of_a_published_version_before_it_matters(
        database_url: str, room: Path, clock: Any, capsys: pytest.CaptureFixture[str]) -> None:
    start_service(database_url, room, clock).close()
    assert main(["validate", str(room), "--database-url", database_url]) == 0
    capsys.readouterr()
    edit(room, "nextgen-pxp-portal-invites.yaml", "Enrollments Overview", "Enrollment Overview")
    assert main(["validate", str(room)]) == 0  # on its own the file is fine
    capsys.readouterr()
    assert main(["validate", str(room), "--database-url", database_url]) == 1
    out = capsys.readouterr().out
    assert (f"{room / 'nextgen-pxp-portal-invites.yaml'}:4:1: version 1 of 'nextgen-pxp-portal-invites' was "
            "already published by service on ") in out
    assert out.splitlines()[-1].startswith("FAILED: 5 workflow file(s) checked, 1 error(s)")
