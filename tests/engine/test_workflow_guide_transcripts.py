"""The command transcripts in docs/workflow-language.md run as written. Each `$ command` line of a ```text block is
run, in the order of the document, in a folder laid out like a checkout (the project's .venv and a copy of
workflows/) against a database where version 1 of the invite workflow has two enrollments running and the
designer has just raised its file to version 2, as the chapter "Changing a workflow" tells. The output must be
the lines shown, where "..." or "…" inside a line stands for any text and a line of "..." for any lines."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fakes import FakeClock
from practice import seed_practice

from definitions.model import Actor
from engine.actors import ActorRef
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "workflow-language.md"
PXP = "nextgen-pxp-portal-invites"
ANA = ActorRef("ana", "staff", Actor.STAFF)
ENROLL_NOW = {"confirm_required_fields": True, "enroll_now": "chart_banner"}


def transcripts(text: str) -> list[tuple[int, str, list[str]]]:
    """(line number, command, the output lines shown after it) for every `$ ` line of every ```text block."""
    found: list[tuple[int, str, list[str]]] = []
    for block in re.finditer(r"^ *```text\n(.*?)^ *```", text, re.MULTILINE | re.DOTALL):
        first = text.count("\n", 0, block.start(1)) + 1
        lines = block.group(1).splitlines()
        indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
        for number, line in enumerate(lines, start=first):
            if line.lstrip().startswith("$ "):
                found.append((number, line.lstrip()[2:], []))
            elif found and found[-1][0] >= first:
                found[-1][2].append(line[indent:] if line.strip() else "")
    return found


def matches(shown: list[str], output: str) -> bool:
    pattern = ""
    for line in shown:
        if line.strip() in ("...", "…"):
            pattern += r"(?:[^\n]*\n)*?"
        else:
            pattern += ".*?".join(re.escape(part) for part in re.split(r"\.\.\.|…", line)) + r"[ \t]*\n"
    return re.fullmatch(pattern, output if output.endswith("\n") or not output else output + "\n") is not None


def test_the_transcript_matcher_tells_a_match_from_a_difference() -> None:
    assert matches(["a ... c", "...", "z"], "a b c\nx\ny\nz\n")
    assert not matches(["a ... c", "z"], "a b c\nx\nz\n")
    assert not matches(["ok: 5 checked"], "ok: 4 checked\n")


@pytest.fixture
def checkout(tmp_path: Path, database_url: str, clock: FakeClock) -> Path:
    """Version 1 of the invite workflow published with two enrollments on it (one invited, one not yet), then
    its file raised to version 2 with 'not_invited' renamed 'waiting' and re-sends every 5 days."""
    folder = tmp_path / "checkout"
    shutil.copytree(ROOT / "workflows", folder / "workflows")
    (folder / ".venv").symlink_to(ROOT / ".venv")
    path = folder / "workflows" / f"{PXP}.yaml"
    shipped = path.read_text(encoding="utf-8")
    path.write_text(shipped.replace("\nversion: 2\n", "\nversion: 1\n", 1), encoding="utf-8")
    flow = build(database_url, folder / "workflows", clock=clock, hash_cost=TEST_COST,
                 secret_key=b"q" * 43 + b"=", mail_folder=tmp_path / "mail")
    try:
        seed_practice(flow.db)
        invited = flow.start(StartEnrollment(PXP, ANA, patient_id="p-jane")).enrollment_id
        flow.advance(AdvanceEnrollment(invited, "enroll_now", ANA, inputs=ENROLL_NOW))
        flow.start(StartEnrollment(PXP, ANA, patient_id="p-noemail"))
    finally:
        flow.close()
    text = shipped
    for old, new in (("not_invited", "waiting"), ("    after: 7d\n", "    after: 5d\n")):
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return folder


def test_every_transcript_in_the_workflow_guide_runs_as_written(checkout: Path, database_url: str) -> None:
    env = {**os.environ, "PORTALFLOW_DATABASE_URL": database_url, "PORTALFLOW_WORKFLOWS": "workflows",
           "PORTALFLOW_HOME": str(checkout)}  # the designer's own checkout, whose workflows/ was edited
    env.pop("PORTALFLOW_TEST_DATABASE_URL", None)
    shown = transcripts(GUIDE.read_text(encoding="utf-8"))
    assert len(shown) >= 10
    for line, command, lines in shown:
        done = subprocess.run(["bash", "-c", command], cwd=checkout, env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        assert matches(lines, done.stdout + done.stderr), (
            f"docs/workflow-language.md:{line}: $ {command}\n--- shown:\n" + "\n".join(lines)
            + f"\n--- printed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
