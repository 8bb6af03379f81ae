"""The operations guide's "Logs and metrics" runs as written: the service started as it says (two workers sharing
their counts), /metrics scraped with its curl lines, and its log read with its jq lines."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from loopback_smtp import free_port
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)

pytestmark = pytest.mark.skipif(shutil.which("jq") is None or shutil.which("curl") is None,
                                reason="the guide uses curl and jq")


def guide_blocks() -> list[str]:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = text[text.index("## Logs and metrics"):]
    return BLOCK.findall(section[:section.index("\n## ", 1)])


@dataclass
class Service:
    folder: Path
    base: str
    env: dict[str, str]
    health_calls: int  # /health answers so far

    def run(self, block: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-c", "set -euo pipefail\n" + block], cwd=self.folder,
                              env={**self.env, **extra}, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The guide's start block, in a fresh folder beside the installed one (its var/ is the test's)."""
    folder = tmp_path_factory.mktemp("operations")
    for name in (".venv", "workflows"):
        (folder / name).symlink_to(ROOT / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTALFLOW_", "PROMETHEUS_"))}
    env["PORTALFLOW_HOME"] = str(folder)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    *_, start = guide_blocks()
    # As written, but on a free port rather than 8000 (another service may hold it on a shared machine).
    script = start.replace("serve --workers 2", f"serve --workers 2 --port {port}") + "echo $!\n"
    with (folder / "start.out").open("w") as out:
        subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], cwd=folder, env=env, stdout=out,
                       stderr=subprocess.STDOUT, timeout=60, check=True)
    pid = int((folder / "start.out").read_text(encoding="utf-8").split()[-1])
    try:
        calls = 0
        for _ in range(600):
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    calls += 1
                    if calls == 10:  # both workers up, most likely, and each answered some
                        break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("the service did not start")
        yield Service(folder, base, env, calls)
    finally:
        os.kill(pid, signal.SIGTERM)
        for _ in range(300):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)


def health_answers(service: Service, scraper: str) -> float:
    answer = httpx.get(f"{service.base}/metrics", headers={"Authorization": f"Bearer {scraper}"})
    return sum(sample.value for family in text_string_to_metric_families(answer.text) for sample in family.samples
               if sample.name == "portalflow_http_requests_total" and sample.labels["route"] == "/health")


def test_the_metrics_lines_scrape_with_a_scrapers_token_and_refuse_without_one(service: Service) -> None:
    _, metrics, _ = guide_blocks()
    done = service.run(metrics, BASE=service.base)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^portalflow_timers_due 0\.0$", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^portalflow_sweep_lag_seconds 0\.0$", done.stdout, re.MULTILINE), done.stdout
    assert done.stdout.splitlines()[-1] == "401"


def test_two_workers_sharing_a_metrics_folder_count_every_request_whichever_answers(service: Service) -> None:
    scraper = subprocess.run([".venv/bin/portalflow", "user", "create", "scraper2", "--name", "Scraper",
                              "--role", "auditor"], cwd=service.folder, env=service.env, capture_output=True,
                             text=True, check=True).stdout.strip()
    for _ in range(6):
        httpx.get(f"{service.base}/health")
    calls = service.health_calls + 6
    assert [health_answers(service, scraper) for _ in range(4)] == [calls] * 4


def test_the_log_lines_find_a_requests_lines_and_each_workers_start(service: Service) -> None:
    logs, _, _ = guide_blocks()
    log = service.folder / "var" / "portalflow.log"
    for _ in range(600):  # the second worker may still be starting on a loaded machine
        if log.exists() and log.read_text(encoding="utf-8").count('"message": "database ') >= 2:
            break
        time.sleep(0.1)
    seen = httpx.get(f"{service.base}/workflows")  # 401: a line of its own, with its id
    read = service.run(logs, LOG="var/portalflow.log", REQUEST_ID=seen.headers["X-Request-ID"])
    assert read.returncode == 0, read.stderr
    line_of_request, *rest = read.stdout.splitlines()
    assert (json.loads(line_of_request)["path"], json.loads(line_of_request)["status"]) == ("/workflows", 401)
    databases = [line for line in rest if line.startswith("database sqlite:///")]
    assert len(databases) == 2  # one per worker
    assert all(line.endswith("var/portalflow.db") for line in databases)
    assert rest.count("workflows: 5 loaded, 0 left out") == 2
    for line in (service.folder / "var" / "portalflow.log").read_text(encoding="utf-8").splitlines():
        assert "request_id" in json.loads(line)
