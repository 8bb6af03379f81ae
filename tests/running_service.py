"""`portalflow serve` as a real process on a fresh SQLite file and a free port, as `make run` starts it, for the
tests that drive the service from outside (the guides, the logs)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from loopback_smtp import free_port

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class RunningService:
    env: dict[str, str]  # the service's environment, which commands run beside it should share
    base: str  # http://127.0.0.1:PORT
    log: Path  # everything it wrote, stdout and stderr


@contextmanager
def running_service(folder: Path, name: str = "service") -> Iterator[RunningService]:
    env = {**os.environ, "PORTALFLOW_DATABASE_URL": f"sqlite:///{folder / f'{name}.db'}",
           "PORTALFLOW_MAIL_FOLDER": str(folder / "mail"), "PORTALFLOW_BACKGROUND": "0"}
    port = free_port()
    log_path = folder / f"{name}.log"
    log = log_path.open("wb")  # a file, not a pipe nobody reads: a full pipe would stall it
    process = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail(f"the server did not start; its log: {log_path}")
        yield RunningService(env, base, log_path)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
