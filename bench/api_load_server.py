"""The service side of `bench.api_load`: a seeded SQLite file, the real service started on it, and its CPU time.

Seeding (untimed) goes the way an operator and the front desk would: `portalflow user create` makes the staff user
and prints its token; the site and the patients are inserted directly (a bulk import is not what is measured);
the enrollments are started through the engine (`PortalFlow.start`), one transaction each, before the service
starts. The service is `portalflow serve --workers 2` (uvicorn, its access log on, as operators run it) in the
temporary folder, so its `var/` (outbox key, mail folder) is the benchmark's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from multiprocessing import get_context
from pathlib import Path

from sqlalchemy import Engine, insert

from definitions.model import Actor
from engine.actors import ActorRef
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.enrollments.start import StartEnrollment
from engine.storage.tables import patients, providers, sites

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / "workflows"
HOST = "127.0.0.1"
USER = "bench-staff"
ONBOARDING = "portal-invitation-reset-onboarding"
PIN = "nextgen-regenerate-expired-pin"
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Seeded:
    token: str
    onboarding: list[str]  # enrollment ids in access_disabled: enable_portal_access moves each once
    pin: list[str]  # enrollment ids in not_enrolled: generate_pin moves each once
    seconds: float
    patients: list[str] = field(default_factory=list)  # the patient of each onboarding enrollment, in order


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _environment(folder: Path, url: str) -> dict[str, str]:
    return {**os.environ, "PORTALFLOW_DATABASE_URL": url, "PORTALFLOW_WORKFLOWS": str(WORKFLOWS),
            # No background sweep in the measured processes: nothing is due, and a round every 30 s would only
            # add a blip; the mail folder and outbox key live in the benchmark's folder.
            "PORTALFLOW_BACKGROUND": "0", "PORTALFLOW_MAIL_FOLDER": str(folder / "var" / "mail")}


def insert_practice(db: Engine, patient_ids: list[str]) -> None:
    """One site, one provider and these patients (every field the workflows need), inserted directly."""
    with db.begin() as conn:
        conn.execute(insert(sites).values(id="main", name="Bench Practice", timezone="America/New_York",
                                          portal_url="https://portal.example.test", phone="(617) 555-0100",
                                          specialist_office=False, go_live_on=date(2026, 1, 5)))
        conn.execute(insert(providers).values(id="dr-pcp", name="Dr. Pat Primary"))
        conn.execute(insert(patients), [
            {"id": pid, "site_id": "main", "given_name": "Pat", "family_name": f"Bench{i}",
             "birth_date": date(1980, 1, 1), "birth_sex": "F", "zip": "02139", "email": f"{pid}@example.test",
             "email_confirmed_personal": True, "pcp_id": "dr-pcp", "responsible_provider_id": "dr-pcp",
             "name_is_placeholder": False, "portal_access_enabled": False} for i, pid in enumerate(patient_ids)])


def _cli(folder: Path, url: str, *arguments: str) -> str:
    """Run a `portalflow` command on the bench's database; its output, or exit with what it said."""
    done = subprocess.run([sys.executable, "-m", "api.cli", *arguments], cwd=folder, env=_environment(folder, url),
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"portalflow {' '.join(arguments[:2])} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout.strip()


def seed(folder: Path, url: str, onboarding: int, pin: int, clerks: tuple[str, ...] = (),
         password: str = "") -> Seeded:
    began = time.perf_counter()
    # The database, then the first staff user and its token, as an operator makes them (commands other than
    # `db upgrade` and `serve` refuse to make an empty database).
    _cli(folder, url, "db", "upgrade")
    token = _cli(folder, url, "user", "create", USER, "--name", "Bench Staff", "--role", "staff", "--linked",
                 "--label", "bench")
    flow = build(url, WORKFLOWS, hash_cost=TEST_COST, key_file=folder / "var" / "outbox.key",
                 mail_folder=folder / "var" / "mail")
    actor_cli = ActorRef("cli", "admin", Actor.STAFF)
    try:
        ids = [f"p{i:07d}" for i in range(onboarding + pin)]
        insert_practice(flow.db, ids)
        for clerk in clerks:  # staff who use the pages: a password of their own, as after their first sign-in
            flow.users.create(actor_cli, clerk, f"Clerk {clerk}", "staff", linked_to_staff_record=True)
            flow.users.set_password(actor_cli, clerk, password, "bench set-up")
            flow.users.change_own_password(flow.users.get(clerk), password)
        actor = ActorRef(USER, "staff", Actor.STAFF)
        started = [flow.start(StartEnrollment(ONBOARDING if i < onboarding else PIN, actor, patient_id=pid))
                   .enrollment_id for i, pid in enumerate(ids)]
    finally:
        flow.db.dispose()
    return Seeded(token, started[:onboarding], started[onboarding:], time.perf_counter() - began, ids[:onboarding])


@contextlib.contextmanager
def service(folder: Path, url: str, port: int, workers: int, *, access_log: bool = True) -> Iterator[int]:
    """Start the service; yield its supervisor's pid once /health answers; stop it (SIGINT, then SIGKILL)."""
    if access_log:
        command = [sys.executable, "-m", "api.cli", "serve", "--host", HOST, "--port", str(port),
                   "--workers", str(workers)]
    else:
        command = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", HOST,
                   "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    log = (folder / "service.log").open("wb")
    process = subprocess.Popen(command, cwd=folder, env=_environment(folder, url), stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        _wait_for_health(port, process, folder / "service.log")
        yield process.pid
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_for_health(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the service exited ({process.returncode}):\n{log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1) as conn:
            conn.sendall(f"GET /health HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
            if conn.recv(64).startswith(b"HTTP/1.1 200"):
                return
        time.sleep(0.2)
    raise SystemExit(f"the service did not answer /health within {timeout:.0f} s")


def cpu_by_process(pid: int) -> dict[int, float]:
    """User+system CPU seconds of a process and of each of its descendants alive now (Linux /proc; else empty)."""
    found: dict[int, float] = {}
    for each in [pid, *_descendants(pid)]:
        with contextlib.suppress(OSError, ValueError, IndexError), open(f"/proc/{each}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
            found[each] = (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime: all its threads
    return found


def connections_by_process(port: int) -> dict[int, int]:
    """How many established connections each process serving `port` holds (from `ss`; empty without it)."""
    try:
        listed = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
                                capture_output=True, text=True, check=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    found: dict[int, int] = {}
    for line in listed.splitlines():
        if "pid=" in line:
            pid = int(line.split("pid=", 1)[1].split(",", 1)[0])
            found[pid] = found.get(pid, 0) + 1
    return found


def worker_rss_mib(pid: int, field: str = "VmRSS") -> dict[int, float]:
    """Resident memory (MiB) of each uvicorn worker under the supervisor `pid`: its descendants started by
    multiprocessing's spawn (not the resource tracker, not the supervisor itself); empty without /proc.
    `field` VmRSS is now; VmHWM is the most the worker has held since it started (a peak between two readings).
    With no such worker (`serve --workers 1` serves in the process it starts), the process `pid` itself."""
    found: dict[int, float] = {}
    for each in _descendants(pid):
        with contextlib.suppress(OSError, ValueError, StopIteration):  # a process may end while it is read
            with open(f"/proc/{each}/cmdline", "rb") as cmdline:
                if b"spawn_main" not in cmdline.read():
                    continue
            found[each] = _memory_mib(each, field)
    if not found:
        with contextlib.suppress(OSError, ValueError, StopIteration):
            found[pid] = _memory_mib(pid, field)
    return found


def _memory_mib(pid: int, field: str) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        return int(next(line.split()[1] for line in status if line.startswith(f"{field}:"))) / 1024


def process_count(pid: int) -> int:
    """The process and its descendants: a supervisor and its workers."""
    return 1 + len(_descendants(pid))


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError), \
                    open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                children.setdefault(int(stat.read().rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


# ----- a server that does nothing, to measure what the client alone can drive -----------------------------------

_CANNED = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n"
           b'{"ok":true}')


async def _canned(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            await reader.readexactly(length)
            writer.write(_CANNED)
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


def _serve_canned(port: int) -> None:
    async def main() -> None:
        server = await asyncio.start_server(_canned, HOST, port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


@contextlib.contextmanager
def canned_server(port: int) -> Iterator[int]:
    process = get_context("spawn").Process(target=_serve_canned, args=(port,), daemon=True)
    process.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
                break
            time.sleep(0.05)
        assert process.pid is not None
        yield process.pid
    finally:
        process.terminate()
        process.join(timeout=10)
