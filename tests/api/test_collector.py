"""A running app has what it made while starting set aside from the garbage collector, and gives it back on stop."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings


def test_a_started_app_sets_its_startup_objects_aside_and_a_stopped_one_hands_them_back(
        flow: Any, workflows_dir: Path) -> None:
    app = create_app(Settings(database_url=str(flow.db.url), workflows_dir=workflows_dir), flow=flow)
    assert gc.get_freeze_count() == 0
    with TestClient(app) as client:
        assert gc.get_freeze_count() > 10_000  # the modules, the workflows, the routes: far more than a request makes
        assert client.get("/health").status_code == 200
    assert gc.get_freeze_count() == 0
