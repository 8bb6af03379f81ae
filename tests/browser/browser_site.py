"""The service the browser tests talk to: the app over an engine on a real SQLite file, served by uvicorn on a free
loopback port (fake clock)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fakes import FakeClock
from loopback_smtp import free_port

from api.app import create_app
from api.settings import Settings
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.front_door.flow import PortalFlow


@dataclass
class Site:
    """The running service: its address, its engine (fake clock) and the background round."""

    url: str
    flow: PortalFlow
    clock: FakeClock

    def background_round(self) -> str:
        return self.flow.background_round()


@contextmanager
def serving(flow: PortalFlow, clock: FakeClock, workflows_dir: Path) -> Iterator[Site]:
    """The app over `flow`, served by uvicorn on a free loopback port until the block ends."""
    app = create_app(Settings(database_url=str(flow.db.url), workflows_dir=workflows_dir), flow=flow)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the service did not start")
        time.sleep(0.02)
    try:
        yield Site(f"http://127.0.0.1:{port}", flow, clock)
    finally:
        server.should_exit = True
        thread.join(10)


def engine_on_file(tmp_path: Path, clock: FakeClock, workflows_dir: Path) -> PortalFlow:
    return build(f"sqlite:///{tmp_path / 'portalflow.db'}", workflows_dir, clock=clock, hash_cost=TEST_COST,
                 secret_key=b"q" * 43 + b"=")


