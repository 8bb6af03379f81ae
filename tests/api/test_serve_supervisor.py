"""How `portalflow serve` sets up uvicorn's supervisor of several workers."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
import uvicorn
from uvicorn.supervisors import Multiprocess

from api.cli import service


def test_serving_with_two_workers_gives_a_busy_worker_half_a_minute_to_answer_before_it_is_replaced(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[uvicorn.Config] = []

    def run_instead(self: Multiprocess, *_: Any) -> None:
        seen.append(self.config)
        for sock in self.sockets:
            sock.close()

    monkeypatch.setattr(Multiprocess, "run", run_instead)
    monkeypatch.delenv("PORTALFLOW_DATABASE_URL", raising=False)
    args = argparse.Namespace(database_url=None, workers=2, host="127.0.0.1", port=0)

    assert service.serve(args) == 0
    assert seen[0].workers == 2
    assert seen[0].timeout_worker_healthcheck == 30


def test_the_service_parses_http_with_httptools_and_runs_on_uvloop_both_installed_with_it() -> None:
    # uvicorn picks each when it is installed (its "auto"), else falls back to h11 and asyncio's loop: about a
    # third more CPU per request (`make bench-reads`). pyproject.toml installs both; this says so if one goes.
    from uvicorn.protocols.http.auto import AutoHTTPProtocol
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    assert AutoHTTPProtocol is HttpToolsProtocol
    factory = uvicorn.Config("api.app:create_app", factory=True).get_loop_factory()
    assert factory is not None
    assert factory.__module__ == "uvloop"
