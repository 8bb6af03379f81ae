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
