"""Shared fixtures: the repository's own folders, throwaway workflow files, and the PostgreSQL URL."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ENV = "PORTALFLOW_TEST_DATABASE_URL"


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def workflows_dir() -> Path:
    return ROOT / "workflows"


@pytest.fixture
def write_workflow(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a workflow file in a folder with a handout and a template, as a designer's room would have."""
    (tmp_path / "templates").mkdir(exist_ok=True)
    (tmp_path / "templates" / "hello.j2").write_text("{% block body %}Hello{% endblock %}\n", encoding="utf-8")
    (tmp_path / "handout.txt").write_text("A handout.\n", encoding="utf-8")

    def write(text: str, name: str = "wf.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def postgres_url() -> str:
    """The PostgreSQL URL from the environment; skipped visibly when unset, a failure when set but unreachable."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL tests need a server (CI sets it)")
    return url
