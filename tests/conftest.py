"""Shared fixtures: the repository's own folders, throwaway workflow files, the PostgreSQL URL, and the engine.

Tests come in three tiers: `unit/` (no database), `engine/` (a real SQLite file and, where configured, PostgreSQL)
and `api/` (HTTP, over the same engine). Without PORTALFLOW_TEST_DATABASE_URL the PostgreSQL cases are left out
and the run ends with one line saying how many (CI sets it, and runs them all).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fakes import FakeClock
from practice import START, seed_practice

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ENV = "PORTALFLOW_TEST_DATABASE_URL"
_LEFT_OUT = pytest.StashKey[int]()


def _needs_postgres(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    params = list(callspec.params.values()) if callspec is not None else []
    fixtures = set(getattr(item, "fixturenames", ()))
    return (item.get_closest_marker("postgres") is not None or any(p == "postgres" for p in params)
            or bool(fixtures & {"postgres_url", "postgres_schema_url"}))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a server, leave the PostgreSQL cases out whole, instead of one skip line each under `-ra`."""
    if os.environ.get(POSTGRES_ENV):
        return
    left_out = [item for item in items if _needs_postgres(item)]
    if left_out:
        items[:] = [item for item in items if not _needs_postgres(item)]
        config.hook.pytest_deselected(items=left_out)
    config.stash[_LEFT_OUT] = len(left_out)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    left_out = config.stash.get(_LEFT_OUT, 0)
    if left_out:
        terminalreporter.write_line(f"{left_out} PostgreSQL test(s) not run: set {POSTGRES_ENV} to a server's URL "
                                    "(CI does)", yellow=True)


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


# ----- the engine on a real SQLite file, with a fake clock ---------------------------------------------------



@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.fromisoformat(START))


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose connections use a fresh schema, dropped afterwards: tests never share tables."""
    import uuid

    from sqlalchemy import create_engine, text

    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL tests need a server (CI sets it)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Engine tests run on a real SQLite file and, where configured, on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'portalflow.db'}"
    return str(request.getfixturevalue("postgres_schema_url"))


@pytest.fixture
def flow(database_url: str, clock: object, workflows_dir: Path, tmp_path: Path) -> Iterator[object]:
    from engine.bootstrap import build
    from engine.credentials.hashing import TEST_COST

    built = build(database_url, workflows_dir, clock=clock,  # type: ignore[arg-type]
                  hash_cost=TEST_COST, secret_key=b"q" * 43 + b"=")
    seed_practice(built.db)
    yield built
    built.close()


@pytest.fixture
def start_server() -> Iterator[Callable[..., object]]:
    """Start real SMTP servers on loopback (tests/loopback_smtp.py); all are stopped after the test."""
    from aiosmtpd.controller import Controller
    from loopback_smtp import HOST, Mailbox, Server, free_port

    controllers: list[Controller] = []

    def start(mailbox: Mailbox | None = None, port: int | None = None, **options: object) -> Server:
        server = Server(mailbox or Mailbox(), port or free_port())
        controller = Controller(server.mailbox, hostname=HOST, port=server.port, **options)
        controller.start()
        controllers.append(controller)
        return server

    yield start
    for controller in controllers:
        controller.stop()
