"""Workflows are enabled per site: nothing starts for a workflow the patient's site does not use — not from an EHR
event, a staff edit, a start or a bulk action — and each refusal says why. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from api.cli import main
from definitions.model import Actor
from engine.actors import ActorRef
from engine.enrollments.intake import IntakeEvent
from engine.enrollments.onboarding import Onboard
from engine.enrollments.start import StartEnrollment
from engine.errors import InvalidInput, NotAllowed
from engine.storage.tables import enrollments, outbox

ROOT = Path(__file__).resolve().parents[2]
ANA = ActorRef("ana", "staff", Actor.STAFF)
ROOT_ADMIN = ActorRef("root", "admin", Actor.STAFF)
PXP = "nextgen-pxp-portal-invites"
REGENERATE = "nextgen-regenerate-expired-pin"
NOT_USING_PXP = ("site 'Maple Family Practice' does not use the workflow 'NextGen PxP Portal Enrollments Overview' "
                 f"({PXP}); it uses: {REGENERATE}. An admin can add it to the site's workflows")


def counts(flow: Any) -> tuple[int, int]:
    with flow.db.connect() as conn:
        return (conn.execute(select(func.count()).select_from(enrollments)).scalar_one(),
                conn.execute(select(func.count()).select_from(outbox)).scalar_one())


@pytest.fixture
def pin_only(flow: Any) -> Any:
    """The practice uses only the NextGen PIN procedure."""
    site = flow.practice.update_site(ROOT_ADMIN, "main", {"workflows": [REGENERATE]})
    assert site.workflows == (REGENERATE,)
    return flow


def test_an_email_change_at_a_site_without_the_invite_workflow_sends_no_invite_and_says_why(pin_only: Any) -> None:
    done = pin_only.people.update_patient(ANA, "p-noemail", {"email": "nora@example.test"})
    assert done.changed == ("email",)
    assert done.event == f"ignored: {PXP}: {NOT_USING_PXP}"
    assert counts(pin_only) == (0, 0)


def test_an_ehr_event_at_a_site_without_the_invite_workflow_starts_nothing(pin_only: Any) -> None:
    result = pin_only.receive(IntakeEvent("ehr-1", "chart_added", "p-jane"))
    assert (result.outcome, result.detail, result.enrollment_ids) == ("ignored", f"{PXP}: {NOT_USING_PXP}", ())
    assert counts(pin_only) == (0, 0)


def test_staff_cannot_start_it_and_a_bulk_action_reports_why_per_patient(pin_only: Any) -> None:
    with pytest.raises(NotAllowed) as refused:
        pin_only.start(StartEnrollment(PXP, ANA, patient_id="p-jane"))
    assert str(refused.value) == NOT_USING_PXP
    (done,) = pin_only.onboard(Onboard(PXP, "enroll_now", ["p-jane"], ANA))
    assert (done.outcome, done.reasons) == ("not_allowed", (NOT_USING_PXP,))
    assert pin_only.start(StartEnrollment(REGENERATE, ANA, patient_id="p-jane")).state == "not_enrolled"


def test_a_site_set_up_before_sites_chose_uses_every_workflow(flow: Any) -> None:
    assert flow.practice.read_site("main").workflows is None
    assert flow.receive(IntakeEvent("ehr-2", "chart_added", "p-jane")).outcome == "acted"


def test_a_site_names_only_published_workflows(flow: Any) -> None:
    with pytest.raises(InvalidInput, match="workflows: no workflow 'nextgen-pxp'; published: "):
        flow.practice.update_site(ROOT_ADMIN, "main", {"workflows": ["nextgen-pxp"]})
    assert flow.practice.update_site(ROOT_ADMIN, "main", {"workflows": []}).workflows == ()  # uses none


def test_the_command_shows_and_sets_a_sites_workflows(flow: Any, database_url: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["site", "workflows", "main", "--database-url", database_url]) == 0
    assert capsys.readouterr().out == "site main uses: every workflow\n"
    assert main(["site", "workflows", "main", REGENERATE, PXP, "--database-url", database_url]) == 0
    assert capsys.readouterr().out == f"site main uses: {REGENERATE}, {PXP}\n"
    assert main(["site", "workflows", "main", "nope", "--database-url", database_url]) == 2
    assert "no workflow 'nope'" in capsys.readouterr().err
    assert main(["site", "workflows", "main", "--every", "--database-url", database_url]) == 0
    assert capsys.readouterr().out == "site main uses: every workflow\n"


def test_the_operations_guide_commands_run_as_written(flow: Any, database_url: str) -> None:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = text[text.index("## Which workflows a site uses"):]
    (block,) = re.findall(r"^```sh\n(.*?)^```", section[:section.index("\n## ", 1)], re.MULTILINE | re.DOTALL)
    env = {**os.environ, "PORTALFLOW_DATABASE_URL": database_url}
    done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + block], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["site main uses: every workflow", f"site main uses: {REGENERATE}",
                                        "site main uses: every workflow"]
