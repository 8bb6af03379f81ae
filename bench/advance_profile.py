"""What one API advance costs in CPU, in this process: the engine's advance alone, and the whole request.

    python -m bench.advance_profile [--n 1000] [--rounds 3] [--profile] [--top 25] [--dir DIR]

The request is bench-api's advancing phase (`bench.api_load`): POST /enrollments/{id}/triggers/enable_portal_access
{"inputs": {"enable_access": "onboarding_tool"}} on portal-invitation-reset-onboarding, each enrollment once.
Untimed, per round: a fresh SQLite file (on tmpfs when there is one: the flush is not what is measured), one site,
2N patients and their enrollments started through the engine, a staff user and its token. Timed, one after the
other in one thread (so CPU time is the work, not waiting for a core on a shared machine):
- engine: `PortalFlow.advance` on N enrollments, as the route calls it;
- app: the same request through the real app (`api.app.create_app`: middleware, auth, validation, the route in
  the threadpool, the JSON answer, the access log line) called as ASGI in this process, on the other N: no
  socket, no uvicorn. Its log lines go to /dev/null while timed.
Each figure is CPU microseconds per advance (`time.process_time`, every thread of the process); the best round is
kept and the median shown. Then every enrollment is checked to have moved and the audit chains to verify.
`--profile` adds one engine pass and one app pass under cProfile: own time per advance by area, then the top
functions. cProfile sees one thread: in the app pass, the main one (the web layer); the route's own work runs in
the threadpool and shows there only as the event loop's wait (`select.epoll`), so the engine pass shows that.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import redirect_stderr
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from api.app import create_app
from api.cli.users import CLI_ACTOR
from api.settings import Settings
from bench.api_load import ENABLE
from bench.api_load_server import ONBOARDING, USER, WORKFLOWS, insert_practice
from bench.engine_run import SECRET_KEY
from bench.places import SHM, filesystem
from bench.profiling import own_seconds_by_area
from bench.summary import print_summary
from definitions.model import Actor
from engine.actors import ActorRef
from engine.audit.verify import verify
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment
from engine.front_door.flow import PortalFlow
from engine.storage.tables import enrollments

TRIGGER, MOVED_TO = "enable_portal_access", "access_enabled"
INPUTS = {"enable_access": "onboarding_tool"}
WARM = 20  # advances per side before the timed ones: statement caches, the machine, the threadpool

# Checked in order: the first mark found in "file:function" names the area.
_AREAS = (
    ("sqlite3 (C: execute, commit)", ("sqlite3.", "QueuedConnection.commit")),
    ("sqlalchemy", ("/sqlalchemy/",)),
    ("transitions (state machine)", ("/transitions/",)),
    ("fastapi/starlette/pydantic", ("/fastapi/", "/starlette/", "/pydantic", "/annotated_types/")),
    ("asyncio/anyio/threads", ("/asyncio/", "/anyio/", "/threading.py", "/concurrent/", "_thread.", "select.")),
    ("logging/json", ("/logging/", "/pythonjsonlogger/", "/json/")),
    ("engine/fsm", ("/engine/fsm/",)),
    ("engine/audit", ("/engine/audit/",)),
    ("engine/ (other)", ("/engine/",)),
    ("api/", ("/api/",)),
    ("definitions/", ("/definitions/",)),
)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.advance_profile", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="advances per side per round (default 1000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, the best kept (default 3)")
    parser.add_argument("--profile", action="store_true", help="one more app pass under cProfile")
    parser.add_argument("--top", type=int, default=25, help="functions listed by own time (default 25)")
    parser.add_argument("--dir", help="where the SQLite files go (default: /dev/shm when a tmpfs, else temp)")
    args = parser.parse_args(argv)
    if args.n < 1 or args.rounds < 1:
        parser.error("--n and --rounds must be at least 1")
    return args


class Round:
    """One fresh database with 2N onboarding enrollments waiting for `enable_portal_access`."""

    def __init__(self, folder: Path, n: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.flow: PortalFlow = build(f"sqlite:///{folder / 'advance.db'}", WORKFLOWS, hash_cost=TEST_COST,
                                      secret_key=SECRET_KEY, mail_folder=folder / "mail")
        patient_ids = [f"p{i:07d}" for i in range(2 * (n + WARM))]
        insert_practice(self.flow.db, patient_ids)
        self.flow.users.create(CLI_ACTOR, USER, "Bench Staff", "staff", linked_to_staff_record=True)
        self.token = self.flow.users.issue_token(CLI_ACTOR, USER, "bench").value
        self.actor = ActorRef(USER, "staff", Actor.STAFF)
        ids = [self.flow.start(StartEnrollment(ONBOARDING, self.actor, patient_id=pid)).enrollment_id
               for pid in patient_ids]
        half = n + WARM
        self.for_engine, self.for_app = ids[:half], ids[half:]
        self.app = create_app(Settings(database_url=str(self.flow.db.url), workflows_dir=WORKFLOWS), flow=self.flow)

    def engine_pass(self, profiler: cProfile.Profile | None = None) -> float:
        """CPU us per `PortalFlow.advance`."""
        began = 0.0
        for done, enrollment_id in enumerate(self.for_engine):
            if done == WARM:
                began = time.process_time()
                if profiler is not None:
                    profiler.enable()
            self.flow.advance(AdvanceEnrollment(enrollment_id, TRIGGER, self.actor, inputs=INPUTS))
        if profiler is not None:
            profiler.disable()
        return 1e6 * (time.process_time() - began) / (len(self.for_engine) - WARM)

    def app_pass(self, profiler: cProfile.Profile | None = None) -> float:
        """CPU us per request through the app, called as ASGI (the access log to /dev/null)."""
        headers = [(b"host", b"bench"), (b"authorization", f"Bearer {self.token}".encode()),
                   (b"content-type", b"application/json"), (b"content-length", str(len(ENABLE)).encode())]
        with open(os.devnull, "w") as quiet, redirect_stderr(quiet):
            return asyncio.run(_requests(self.app, self.for_app, headers, profiler))

    def check(self) -> str:
        with self.flow.db.connect() as conn:
            moved = conn.execute(select(func.count()).select_from(enrollments).where(
                enrollments.c.state == MOVED_TO)).scalar_one()
            report = verify(conn)
        expected = len(self.for_engine) + len(self.for_app)  # the warm-up's too
        if moved != expected or not report.ok:
            raise SystemExit(f"wrong run: {moved} of {expected} moved; audit verify: {report.first_problem}")
        return f"{moved} enrollments moved; audit verified ({report.events_checked} events)"

    def close(self) -> None:
        self.flow.close()


async def _requests(app: Any, ids: list[str], headers: list[tuple[bytes, bytes]],
                    profiler: cProfile.Profile | None) -> float:
    began = 0.0
    for done, enrollment_id in enumerate(ids):
        if done == WARM:
            began = time.process_time()
            if profiler is not None:
                profiler.enable()
        status = await _post(app, f"/enrollments/{enrollment_id}/triggers/{TRIGGER}", headers)
        if status != 200:
            raise SystemExit(f"POST {TRIGGER} on {enrollment_id} answered {status}")
    if profiler is not None:
        profiler.disable()
    return 1e6 * (time.process_time() - began) / (len(ids) - WARM)


async def _post(app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> int:
    answered = asyncio.Event()
    delivered = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": ENABLE, "more_body": False}
        await answered.wait()  # as uvicorn: nothing more until the answer is sent
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif not message.get("more_body", False):
            answered.set()

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 50000),
             "server": ("127.0.0.1", 8000), "state": {}}
    await app(scope, receive, send)
    return status


def _areas(stats: pstats.Stats, n: int) -> dict[str, float]:
    totals = own_seconds_by_area(stats, _AREAS, "other (builtins)")
    whole = sum(totals.values())
    print(f"Own CPU time per request by area, under cProfile ({n} requests; the profiler inflates Python-heavy "
          "areas: shares, not speeds):")
    for area, own in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {area:<30} {100 * own / whole:5.1f} %  {1e6 * own / n:7.0f} us")
    return {area: round(1e6 * own / n, 1) for area, own in totals.items()}


def _in_round(folder: Path, n: int, use: Callable[[Round], Any]) -> Any:
    made = Round(folder, n)
    try:
        return use(made)
    finally:
        made.close()


# Which side goes first turns over every round, so that a neighbour's burst hurts both alike.
def _engine_first(made: Round) -> tuple[float, float, str]:
    engine = made.engine_pass()
    return engine, made.app_pass(), made.check()


def _app_first(made: Round) -> tuple[float, float, str]:
    app = made.app_pass()
    return made.engine_pass(), app, made.check()


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    parent = Path(args.dir) if args.dir else (SHM if SHM.is_dir() and filesystem(SHM) == "tmpfs" else None)
    with tempfile.TemporaryDirectory(prefix="portalflow-advance-", dir=parent) as scratch:
        root = Path(scratch)
        print(f"In-process advance cost: {args.n} advances per side, {args.rounds} rounds, SQLite in {root} "
              f"({filesystem(root)}); load {os.getloadavg()[0]:.2f}", flush=True)
        engine_us: list[float] = []
        app_us: list[float] = []
        for r in range(args.rounds):
            engine, app, checked = _in_round(root / f"round{r}", args.n,
                                             _app_first if r % 2 else _engine_first)
            engine_us.append(engine)
            app_us.append(app)
            print(f"  round {r + 1}: engine {engine:6.0f} us CPU per advance, app {app:6.0f} us CPU per request "
                  f"[{checked}; load {os.getloadavg()[0]:.2f}]", flush=True)
        figures: dict[str, Any] = {
            "n": args.n, "rounds": args.rounds, "engine_cpu_us": min(engine_us),
            "engine_cpu_us_median": statistics.median(engine_us), "app_cpu_us": min(app_us),
            "app_cpu_us_median": statistics.median(app_us)}
        print(f"best: engine {min(engine_us):.0f} us, app {min(app_us):.0f} us CPU per advance "
              f"(medians {statistics.median(engine_us):.0f}, {statistics.median(app_us):.0f})")
        if args.profile:
            engine, app = cProfile.Profile(), cProfile.Profile()
            _in_round(root / "profiled", args.n, lambda made: (made.engine_pass(engine), made.app_pass(app)))
            for side, profiler in (("engine", engine), ("app (main thread)", app)):
                print(f"\n== cProfile, {side} pass ==")
                stats = pstats.Stats(profiler, stream=sys.stdout)
                figures[f"profile_{side.split()[0]}_us_by_area"] = _areas(stats, args.n)
                stats.strip_dirs().sort_stats(pstats.SortKey.TIME).print_stats(args.top)
                stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(args.top)
    print_summary("advance_profile", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
