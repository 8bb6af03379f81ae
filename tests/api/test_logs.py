"""The service's log: JSON lines, each with the request id its answer carries, and no query value or PIN in any."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from running_service import running_service

from api.app import create_app
from api.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PIN_WORKFLOW = "nextgen-regenerate-expired-pin"


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_every_line_is_json_and_an_access_line_carries_the_answers_request_id(
        capsys: pytest.CaptureFixture[str], api: Any) -> None:
    capsys.readouterr()
    answer = api.client.get("/patients/p-jane", headers=api.as_("ana"))
    lines = json_lines(capsys.readouterr().err)
    (access,) = [line for line in lines if line["logger"] == "portalflow.access"]
    assert access["request_id"] == answer.headers["X-Request-ID"]
    assert (access["method"], access["path"], access["status"]) == ("GET", "/patients/{patient_id}", 200)
    assert access["duration_ms"] >= 0
    assert access["level"] == "INFO"
    assert access["time"].endswith("+00:00")


def test_a_sane_incoming_request_id_is_kept_and_a_strange_one_replaced(api: Any) -> None:
    kept = api.client.get("/health", headers={"X-Request-ID": "proxy-42.a_b:c"})
    assert kept.headers["X-Request-ID"] == "proxy-42.a_b:c"
    replaced = api.client.get("/health", headers={"X-Request-ID": "a b\"<script>"})
    assert replaced.headers["X-Request-ID"] not in ("a b\"<script>", "")
    assert len(replaced.headers["X-Request-ID"]) == 32


def test_an_unexpected_error_is_answered_and_logged_with_its_request_id_and_without_its_message(
        capsys: pytest.CaptureFixture[str], flow: Any, workflows_dir: Path) -> None:
    app = create_app(Settings(database_url=str(flow.db.url), workflows_dir=workflows_dir), flow=flow)

    @app.get("/boom")
    def boom(family_name: str) -> None:
        raise ValueError(f"no patient named {family_name}")

    with TestClient(app, raise_server_exceptions=False) as client:
        capsys.readouterr()
        answer = client.get("/boom?family_name=garcia", headers={"X-Request-ID": "req-500"})
    log = capsys.readouterr().err
    lines = json_lines(log)
    assert (answer.status_code, answer.headers["X-Request-ID"]) == (500, "req-500")
    (incident,) = [line for line in lines if line["level"] == "ERROR"]
    assert incident["request_id"] == "req-500"
    assert "ValueError: (left out)" in incident["exc_info"]
    assert 'raise ValueError(f"no patient named {family_name}")' in incident["exc_info"]
    (access,) = [line for line in lines if line["logger"] == "portalflow.access"]
    assert (access["request_id"], access["status"], access["path"]) == ("req-500", 500, "/boom")
    assert "garcia" not in log


def test_a_name_search_and_a_pin_registration_leave_neither_the_query_nor_the_pin_in_the_log(
        capsys: pytest.CaptureFixture[str], api: Any) -> None:
    started = api.client.post("/enrollments", headers=api.as_("ana"),
                              json={"workflow_id": PIN_WORKFLOW, "patient_id": "p-jane"}).json()
    fired = api.client.post(f"/enrollments/{started['enrollment_id']}/triggers/generate_pin",
                            headers=api.as_("ana"), json={}).json()
    pin = fired["shown"][0]["value"]
    search = api.client.get("/patients?family_name=garc&patient_id=mrn-1003", headers=api.as_("ana"))
    registered = api.client.post("/portal/registrations", headers=api.as_("ehr"),
                                 json={"pin": pin, "birth_date": "1980-04-01"})
    assert (search.status_code, registered.status_code) == (200, 200)
    log = capsys.readouterr().err
    paths = {line["path"] for line in json_lines(log) if line["logger"] == "portalflow.access"}
    assert {"/patients", "/portal/registrations"} <= paths
    for secret in ("garc", "mrn-1003", pin, pin.replace("-", ""), "1980-04-01"):
        assert secret not in log


def test_the_real_service_logs_json_lines_naming_the_database_and_workflows_and_no_query(tmp_path: Path) -> None:
    with running_service(tmp_path, "logs") as service:
        token = subprocess.run([sys.executable, "-m", "api.cli", "user", "create", "ana", "--name", "Ana", "--role",
                                "staff"], cwd=ROOT, env=service.env, capture_output=True, text=True,
                               check=True).stdout.strip()
        answer = httpx.get(f"{service.base}/patients?family_name=garc", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
    text = service.log.read_text(encoding="utf-8")
    lines = json_lines(text)  # every line parses
    assert "garc" not in text
    (startup,) = [line for line in lines if line["message"].startswith("workflows:")]
    assert (len(startup["workflows_loaded"]), startup["workflows_left_out"]) == (5, [])
    assert any(line["message"] == f"database sqlite:///{tmp_path / 'logs.db'}" for line in lines)
    (search,) = [line for line in lines if line.get("path") == "/patients"]
    assert search["request_id"] == answer.headers["X-Request-ID"]
    assert any(line["logger"].startswith("uvicorn") for line in lines)
