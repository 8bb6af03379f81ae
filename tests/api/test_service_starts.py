"""The service started by `make run` answers its health page and serves its OpenAPI document."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings


def test_health_reports_the_embedded_database_and_the_valid_workflows(tmp_path: Path, workflows_dir: Path) -> None:
    database = tmp_path / "nested" / "portalflow.db"
    app = create_app(Settings(database_url=f"sqlite:///{database}", workflows_dir=workflows_dir))
    with TestClient(app) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "sqlite", "workflows_valid": 5, "workflows_invalid": 0,
                               "left_out": []}
    assert database.is_file()


def test_health_counts_a_broken_workflow_as_invalid(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("id: broken\n", encoding="utf-8")
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", workflows_dir=tmp_path))
    with TestClient(app) as client:
        body = client.get("/health").json()
    assert (body["status"], body["workflows_valid"], body["workflows_invalid"]) == ("degraded", 0, 1)
    (left_out,) = body["left_out"]
    assert left_out["file"] == str(tmp_path / "broken.yaml")
    assert f"{tmp_path / 'broken.yaml'}:1:1: the workflow is missing required key 'states'" in left_out["problems"]


def test_the_openapi_document_lists_the_health_page(tmp_path: Path, workflows_dir: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", workflows_dir=workflows_dir))
    with TestClient(app) as client:
        document = client.get("/openapi.json").json()
    assert document["info"]["title"] == "PortalFlow"
    assert "/health" in document["paths"]
