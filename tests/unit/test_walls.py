"""The walls between rooms hold, and would notice a breach: `lint-imports` (run by `make test`) passes on the tree
as it is, and fails, naming the contract, on a copy of it with one forbidden import added."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the three packages and the contracts, so a breach can be tried without touching the real tree."""
    copy = tmp_path_factory.mktemp("walls")
    for package in ("api", "engine", "definitions"):
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(tree), "PATH": str(LINT.parent)}, check=False)


def test_every_contract_is_kept_by_the_tree_as_it_is(tree: Path) -> None:
    result = lint(tree)
    assert result.returncode == 0, result.stdout
    assert "Contracts: 6 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("api/routes/breach.py", "from sqlalchemy import select\n",
     "The API opens no transaction: no SQLAlchemy, no storage, only the engine's front"),
    ("engine/people/breach.py", "from engine.fsm import judgement\n",
     "Inside the engine: commands above the state machine, above its collaborators,"),
    ("engine/fsm/breach.py", "from engine.enrollments import advance\n",
     "Inside the engine: commands above the state machine, above its collaborators,"),
    ("definitions/breach.py", "import engine.clock\n", "Dependencies point one way: api -> engine -> definitions"),
    ("engine/audit/breach.py", "def later() -> None:\n    import fastapi\n",
     "The engine's core knows no web framework, scheduler or template engine"),
])
def test_one_forbidden_import_breaks_the_contract_that_forbids_it(tree: Path, module: str, line: str,
                                                                 contract: str) -> None:
    breach = tree / module
    breach.write_text(line, encoding="utf-8")
    try:
        result = lint(tree)
    finally:
        breach.unlink()
    assert result.returncode == 1
    broken = result.stdout.split("Broken contracts")[1]
    assert contract in broken
