"""The staff and auditor guides run as written: their shell blocks, in order, against a real server."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from running_service import running_service

ROOT = Path(__file__).resolve().parents[2]
GUIDES = [ROOT / "docs" / "staff-guide.md", ROOT / "docs" / "auditor-guide.md"]
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)


def shell_blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text(encoding="utf-8"))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`portalflow serve` on a fresh SQLite file and a free port, as `make run` starts it."""
    with running_service(tmp_path, "guide") as service:
        yield {**service.env, "BASE": service.base,
               "PATH": f"{Path(sys.executable).parent}:{service.env.get('PATH', '')}"}


def test_every_guide_has_runnable_blocks() -> None:
    for guide in GUIDES:
        assert len(shell_blocks(guide)) >= 5, guide.name


@pytest.mark.skipif(shutil.which("jq") is None or shutil.which("curl") is None,
                    reason="the guides' examples use curl and jq")
def test_the_staff_day_and_the_audit_run_as_written_against_a_real_server(server: dict[str, str]) -> None:
    script = "set -euo pipefail\n" + "\n".join(block for guide in GUIDES for block in shell_blocks(guide))
    done = subprocess.run(["bash", "-c", script], cwd=ROOT, env=server, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert '"patients_created": 10' in out
    assert "Ana Front Desk (staff)" in out
    assert '["main"]' in out  # the sites Ana works at
    assert '"code": "conflict"' in out
    assert "email address is missing" in out
    assert "Baby Boy Okafor" in out
    assert '"ok": true' in out
    assert "no PIN in either file" in out
    assert "forbidden" in out
    assert "error" not in done.stderr.lower(), done.stderr


def readme_first_steps() -> list[str]:
    """The README's newcomer blocks after `make run` (which the `server` fixture stands in for)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Your first ten minutes"):]
    section = section[:section.index("\n## ", 1)]
    return [block for block in BLOCK.findall(section) if block.strip() != "make run"]


@pytest.mark.skipif(shutil.which("jq") is None or shutil.which("curl") is None,
                    reason="the README's examples use curl and jq")
def test_the_readme_first_steps_run_as_written(server: dict[str, str]) -> None:
    blocks = readme_first_steps()
    assert len(blocks) == 3  # the first admin, then the API's two
    # The README's server listens on 8000; this one on a free port.
    script = "set -euo pipefail\n" + "\n".join(blocks).replace("BASE=http://127.0.0.1:8000", f"BASE={server['BASE']}")
    done = subprocess.run(["bash", "-c", script], cwd=ROOT, env=server, capture_output=True, text=True,
                          timeout=120, check=False, input="the first admin's password\n")  # the password asked for
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "password of admin set; they choose their own at their next sign-in" in done.stdout
    assert "the first admin's password" not in done.stdout + done.stderr
    assert "imported 10 patient(s), 2 household(s); rejected 0 row(s)" in done.stdout
    assert '"status": "Pending Registration"' in done.stdout
    assert re.search(r'"pin": "[2-9A-Z]{4}-[2-9A-Z]{4}"', done.stdout)
