"""Dependencies point one way, api -> engine -> definitions, and the domain core imports no framework."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = {"fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "apscheduler", "jinja2"}


def imported_roots(package: str) -> dict[str, set[str]]:
    """Top-level module names imported by each file of a package."""
    found: dict[str, set[str]] = {}
    for file in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(file.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(("package", "forbidden"), [
    ("definitions", {"engine", "api"} | FRAMEWORKS),
    ("engine", {"api", "fastapi", "starlette", "uvicorn"}),
])
def test_a_lower_layer_never_imports_a_higher_one(package: str, forbidden: set[str]) -> None:
    offenders = {f: sorted(names & forbidden) for f, names in imported_roots(package).items() if names & forbidden}
    assert offenders == {}


def test_the_import_rule_would_notice_a_violation(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("from engine.thing import X\nimport api.cli\n", encoding="utf-8")
    tree = ast.parse(sample.read_text(encoding="utf-8"))
    roots = {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    roots |= {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert roots == {"engine", "api"}
