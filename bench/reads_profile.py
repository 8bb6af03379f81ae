"""Where one enrollment read's time goes: the service's app, in this process, on a database `bench.reads` kept.

    python -m bench.reads_profile FOLDER [--requests 2000]

FOLDER is one that `python -m bench.reads --keep` left (its `reads.db`: 1,000,000 enrollments). The app is the one
`portalflow serve` runs (`api.app.create_app`, same settings but no background job), called as uvicorn calls it
(an ASGI request, GET /enrollments/{id} with a staff bearer token) one request at a time, so what is measured is
one read's own cost: the middlewares, the dependencies, the engine's statements, the answer's validation and JSON.
Not measured: uvicorn's HTTP parsing and the socket (the HTTP bench's server CPU per read, less the figure here,
is their share). A first pass times the reads (CPU and wall, per read); a second runs under cProfile in every
thread (FastAPI runs the route and the token lookup in its thread pool), counting each thread's CPU time (so a
thread waiting for another costs nothing), and prints the budget by area and the top functions. The last line is
the JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import pstats
import random
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.app import create_app
from api.settings import Settings
from bench.api_load_server import USER, WORKFLOWS
from bench.profiling import own_seconds_by_area
from bench.summary import print_summary
from definitions.model import Actor
from engine.actors import ActorRef

ENROLLMENTS = 1_000_000
_AREAS = (("sqlite3 (C)", ("sqlite3.", "QueuedConnection")), ("sqlalchemy", ("/sqlalchemy/",)),
          ("pydantic", ("/pydantic", "pydantic_core")), ("fastapi", ("/fastapi/",)),
          ("starlette", ("/starlette/",)), ("anyio/asyncio/threads", ("/anyio/", "/asyncio/", "threading.py")),
          ("logging", ("/logging/", "pythonjsonlogger")), ("prometheus", ("/prometheus_client/",)),
          ("engine/", ("/engine/",)), ("api/", ("/api/",)), ("definitions/", ("/definitions/",)))


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.reads_profile", description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a folder `python -m bench.reads --keep` left")
    parser.add_argument("--requests", type=int, default=2000, help="reads per pass (default 2000)")
    parser.add_argument("--top", type=int, default=25, help="rows of each cProfile table (default 25)")
    return parser.parse_args(argv)


def _app(folder: Path) -> Any:
    settings = Settings(database_url=f"sqlite:///{folder / 'reads.db'}", workflows_dir=WORKFLOWS,
                        mail_folder=folder / "var" / "mail", key_file=folder / "var" / "outbox.key", home=folder)
    return create_app(settings)


def _scope(path: str, token: str) -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
            "headers": [(b"host", b"127.0.0.1"), (b"accept", b"application/json"),
                        (b"authorization", f"Bearer {token}".encode())]}


async def _read(app: Any, path: str, token: str) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(path, token), receive, send)
    return status


def _pass(app: Any, token: str, n: int, seed: int) -> tuple[list[float], float, int]:
    """n reads one after another; each one's wall time (s), the pass's CPU time of this process, the non-200s."""
    pick = random.Random(seed)
    paths = [f"/enrollments/se{pick.randrange(ENROLLMENTS):07d}" for _ in range(n)]

    async def run() -> tuple[list[float], int]:
        walls, bad = [], 0
        for path in paths:
            began = time.perf_counter()
            bad += await _read(app, path, token) != 200
            walls.append(time.perf_counter() - began)
        return walls, bad

    cpu = time.process_time()
    walls, bad = asyncio.run(run())
    return walls, time.process_time() - cpu, bad


class _EveryThread:
    """cProfile in this thread and in every thread started while it is on (the thread pool's)."""

    def __init__(self) -> None:
        self.profilers: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def _started(self, *_: object) -> Callable[..., object] | None:
        sys.setprofile(None)  # this thread's hook: it was only there to start a profiler
        profiler = cProfile.Profile(time.thread_time)  # CPU time: a thread waiting for another costs nothing
        with self._lock:
            self.profilers.append(profiler)
        profiler.enable()
        return None

    def __enter__(self) -> _EveryThread:
        self._started()
        threading.setprofile(self._started)  # called once in each new thread, which then profiles itself
        return self

    def __exit__(self, *_: object) -> None:
        threading.setprofile(None)
        for profiler in self.profilers:
            profiler.disable()  # only stops the calling thread's; the others' stats are read as they are

    def stats(self) -> pstats.Stats:
        merged = pstats.Stats(self.profilers[0], stream=sys.stdout)
        for profiler in self.profilers[1:]:
            profiler.create_stats()
            if profiler.stats:
                merged.add(profiler)
        return merged


def _areas(stats: pstats.Stats, n: int) -> dict[str, float]:
    totals = own_seconds_by_area(stats, _AREAS, "other (builtins, C)")
    whole = sum(totals.values())
    print("Own CPU time by area, under the profiler (it inflates Python-heavy areas):")
    for area, own in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {area:<24} {100 * own / whole:5.1f} %  {1e6 * own / n:7.0f} us per read")
    return {area: 1e6 * own / n for area, own in totals.items()}


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    app = _app(args.folder)
    logging.getLogger("portalflow").handlers = [logging.StreamHandler(io.StringIO())]  # lines made, not printed
    flow = app.state.flow
    token = flow.users.issue_token(ActorRef("cli", "admin", Actor.STAFF), USER, "reads-profile").value
    try:
        _pass(app, token, min(200, args.requests), seed=1)  # warm: statements compiled, pages cached
        walls, cpu, bad = _pass(app, token, args.requests, seed=2)
        ordered = sorted(walls)
        p50, p99 = ordered[len(ordered) // 2] * 1000, ordered[int(len(ordered) * 0.99)] * 1000
        print(f"{args.requests} reads one at a time in-process: CPU {1e6 * cpu / args.requests:.0f} us per read, "
              f"wall p50 {p50:.2f} ms, p99 {p99:.2f} ms, {bad} not 200", flush=True)
        with _EveryThread() as profiled:
            _pass(app, token, args.requests, seed=3)
        stats = profiled.stats()
        areas = _areas(stats, args.requests)
        stats.strip_dirs().sort_stats(pstats.SortKey.CUMULATIVE).print_stats(args.top)
        stats.sort_stats(pstats.SortKey.TIME).print_stats(args.top)
    finally:
        flow.close()
    print_summary("reads_profile", {"requests": args.requests, "cpu_us_per_read": 1e6 * cpu / args.requests,
                                    "wall_p50_ms": p50, "wall_p99_ms": p99, "not_200": bad,
                                    "profiled_us_per_read_by_area": areas})
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
