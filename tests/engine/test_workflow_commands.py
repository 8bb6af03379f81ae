"""The designer's commands on published versions: publish the folder, list what runs on each version, and see
what changed between two versions. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from practice import seed_practice

from api.cli import main
from definitions.model import Actor
from engine.actors import ActorRef
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.enrollments.start import StartEnrollment

ANA = ActorRef("ana", "staff", Actor.STAFF)
PXP = "nextgen-pxp-portal-invites"


@pytest.fixture(autouse=True)
def _database_made(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The database exists, as after `portalflow serve` or `db upgrade`: other commands make none."""
    assert main(["db", "upgrade", "--database-url", database_url]) == 0
    capsys.readouterr()


@pytest.fixture
def room(tmp_path: Path, workflows_dir: Path) -> Path:
    copy = tmp_path / "workflows"
    shutil.copytree(workflows_dir, copy, ignore=shutil.ignore_patterns("scenarios"))
    for workflow in copy.glob("*.yaml"):  # each as its version 1, whatever version is shipped
        text = workflow.read_text(encoding="utf-8")
        workflow.write_text(re.sub(r"^version: \d+$", "version: 1", text, count=1, flags=re.M), encoding="utf-8")
    return copy


def edit(room: Path, name: str, old: str, new: str) -> None:
    path = room / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_publish_publishes_each_new_version_once_and_says_which(database_url: str, room: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "workflows", "publish", "--workflows", str(room), "--database-url", database_url,
                    "--by", "dee")
    assert code == 0
    assert f"published {PXP} v1" in out
    assert out.splitlines()[-1] == "5 version(s) published, 0 file(s) left out"
    assert run(capsys, "workflows", "publish", "--workflows", str(room), "--database-url", database_url) == (
        0, "0 version(s) published, 0 file(s) left out\n")
    edit(room, f"{PXP}.yaml", "version: 1", "version: 2")
    code, out = run(capsys, "workflows", "publish", "--workflows", str(room), "--database-url", database_url)
    assert (code, out) == (0, f"published {PXP} v2\n1 version(s) published, 0 file(s) left out\n")


def test_publish_leaves_out_an_edit_of_a_published_version_and_exits_1(database_url: str, room: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "workflows", "publish", "--workflows", str(room), "--database-url", database_url)
    edit(room, f"{PXP}.yaml", "Enrollments Overview", "Enrollment Overview")
    code, out = run(capsys, "workflows", "publish", "--workflows", str(room), "--database-url", database_url)
    assert code == 1
    assert "version 1 of 'nextgen-pxp-portal-invites' was already published by cli on " in out
    assert out.splitlines()[-1] == "0 version(s) published, 1 file(s) left out"


def test_list_shows_who_published_each_version_and_how_many_enrollments_run_on_it(
        database_url: str, room: Path, clock: Any, capsys: pytest.CaptureFixture[str]) -> None:
    flow = build(database_url, room, clock=clock, hash_cost=TEST_COST, secret_key=b"q" * 43 + b"=",
                 mail_folder=room / "mail")
    seed_practice(flow.db)
    flow.start(StartEnrollment(PXP, ANA, patient_id="p-jane"))
    flow.start(StartEnrollment(PXP, ANA, patient_id="p-noemail"))
    flow.close()
    edit(room, f"{PXP}.yaml", "version: 1", "version: 2")
    run(capsys, "workflows", "publish", "--workflows", str(room), "--database-url", database_url, "--by", "dee")
    code, out = run(capsys, "workflows", "list", "--database-url", database_url)
    assert code == 0
    rows = {tuple(line.split()[:2]): line for line in out.splitlines()[1:]}
    assert len(rows) == 6
    old, new = rows[(PXP, "1")], rows[(PXP, "2")]
    assert old.split()[4:6] == ["service", "2"]  # published on start; two enrollments still run on it
    assert not old.endswith("(new enrollments)")
    assert new.split()[4:6] == ["dee", "0"]
    assert new.endswith("NextGen PxP Portal Enrollments Overview (new enrollments)")


def test_diff_names_what_changed_between_two_versions(database_url: str, room: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "workflows", "publish", "--workflows", str(room), "--database-url", database_url)
    edit(room, f"{PXP}.yaml", "version: 1", "version: 2")
    edit(room, f"{PXP}.yaml", "    after: 7d\n", "    after: 5d\n")
    edit(room, f"{PXP}.yaml", "    max: 4\n", "    max: 3\n")
    edit(room, "templates/pxp_portal_invitation.j2", "please call us", "please phone us")
    run(capsys, "workflows", "publish", "--workflows", str(room), "--database-url", database_url)
    code, out = run(capsys, "workflows", "diff", PXP, "1", "2", "--database-url", database_url)
    assert code == 0
    assert out.splitlines() == [
        f"{PXP}: version 1 -> 2",
        "timers:",
        "  ~ 'resend_invite': after '7d' -> '5d'",
        "limits:",
        "  ~ 'invites': max 4 -> 3",
        "templates:",
        "  ~ pxp_portal_invitation:",
        "      -If you did not expect this email, please call us at {{ practice.phone }}.",
        "      +If you did not expect this email, please phone us at {{ practice.phone }}.",
    ]
    assert run(capsys, "workflows", "diff", PXP, "1", "1", "--database-url", database_url) == (
        0, f"{PXP}: versions 1 and 1 are the same\n")
    assert main(["workflows", "diff", PXP, "1", "7", "--database-url", database_url]) == 2
    assert f"no published workflow version '{PXP} v7'" in capsys.readouterr().err
