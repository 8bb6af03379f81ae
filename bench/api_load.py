"""`make bench-api`: the real service (uvicorn, 2 workers, SQLite) under 32 concurrent clients on loopback.

    python -m bench.api_load [--quick] [--clients 32] [--workers 2] [--requests 5000] [--seconds 20]
                             [--pin-requests 200] [--no-pin] [--mix-pin-clients 4] [--page-users 16]
                             [--no-access-log] [--soak MINUTES] [--dir DIR]

Untimed: a fresh SQLite file in a temporary folder, seeded as `bench.api_load_server` says (a staff user and its
token from `portalflow user create`, one site, one enrollment started per patient), then `portalflow serve
--workers 2` on it, warmed up. Timed, each phase until --requests answers or --seconds, whichever comes first:
- no-op: GET /me, the same authentication (a token looked up in the database) with no write: what the HTTP stack,
  the app and its auth cost. (/health would be no no-op: it re-validates every workflow file on each call.)
- advancing: POST /enrollments/{id}/triggers/enable_portal_access {"inputs": {"enable_access": "onboarding_tool"}}
  on portal-invitation-reset-onboarding, once per enrollment: one transition in one transaction (version check,
  step input, effect on the patient, audit row and chain, commit with fsync). This is the HTTP+engine path.
- PIN (informational, fewer requests): POST .../triggers/generate_pin on nextgen-regenerate-expired-pin: the same
  path plus a PIN hashed with Argon2id at the production cost (19 MiB, 2 passes, one lane), which dominates it.
- PIN mix (`bench.api_load_mix`; not with --no-pin or --mix-pin-clients 0): --mix-pin-clients (4) of the clients
  issue PINs while the others advance, for the same seconds; the PINs' p99 (target < 1 s) and the other writers'
  p99 meanwhile (target < 150 ms), beside the advancing phase's p99 alone.
- pages: --page-users (16) signed-in users, one connection each, going round home, search, patient, enrollment
  and the action posted from it (`bench.api_load_pages`); every action moves an enrollment of its own.
- soak (only with --soak MINUTES): a mixed load of reads and repeatable writes, each worker's RSS read every 30 s
  (`bench.api_load_soak`).
Each worker's RSS (VmRSS) is read after the warm-up and after the last phase. Then, with the service stopped:
every answered transition is in the database and the audit chains verify; and the client alone against a server
that answers a canned 200, to show what the client can drive and what it costs.
Printed: req/s, p50/p99/max latency, non-2xx, 5xx and transport errors, CPU per request of server and client.
The issue's targets (reported, not enforced): advancing >= 0.3x no-op, p99 < 100 ms at 32 clients, zero 5xx, RSS
< 150 MiB per worker. The last line is one JSON object with the figures (`bench.summary`).
Exit 1 only for a broken run: a 5xx, a transport error, an unexpected non-2xx, or writes missing afterwards.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from bench import api_load_mix, api_load_pages, api_load_report, api_load_soak
from bench.api_load_client import Phase, request_bytes, run_phase
from bench.api_load_report import report
from bench.api_load_server import (
    HOST,
    Seeded,
    canned_server,
    connections_by_process,
    cpu_by_process,
    free_port,
    process_count,
    seed,
    service,
    worker_rss_mib,
)
from bench.places import filesystem
from bench.summary import print_summary
from engine.audit.verify import verify
from engine.storage.database import make_engine
from engine.storage.tables import enrollments

WARM_ONBOARDING, WARM_PIN = 64, 4
MIX_PINS_PER_SECOND = 40  # PINs seeded for the PIN mix: more than two cores can hash (about 20/s), so it never runs dry
ENABLE = b'{"inputs": {"enable_access": "onboarding_tool"}}'


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.api_load", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run: 1000 requests or 5 s per phase, 40 PINs")
    parser.add_argument("--clients", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (default 2)")
    parser.add_argument("--requests", type=int, help="answers per phase at most (default 5000)")
    parser.add_argument("--seconds", type=float, help="seconds per phase at most (default 20)")
    parser.add_argument("--pin-requests", type=int, help="generate_pin requests (default 200; 0 skips the phase)")
    parser.add_argument("--no-pin", action="store_true", help="skip the generate_pin phase and the PIN mix")
    parser.add_argument("--mix-pin-clients", type=int, default=4, help="clients issuing PINs in the PIN mix, the "
                        "others advancing meanwhile (default 4; 0 skips the mix)")
    parser.add_argument("--page-users", type=int, default=16, help="signed-in users of the page phase (default 16; "
                        "0 skips it)")
    parser.add_argument("--no-access-log", action="store_true",
                        help="run uvicorn directly without its access log (portalflow serve logs every request)")
    parser.add_argument("--soak", type=float, default=0.0, metavar="MINUTES",
                        help="then a mixed load for MINUTES, each worker's RSS read every 30 s (bench.api_load_soak)")
    parser.add_argument("--dir", help="where the temporary folder goes (default: the system's temp folder)")
    args = parser.parse_args(argv)
    args.requests = args.requests or (1000 if args.quick else 5000)
    args.seconds = args.seconds or (5.0 if args.quick else 20.0)
    args.pin_requests = 0 if args.no_pin else (args.pin_requests if args.pin_requests is not None
                                               else (40 if args.quick else 200))
    if args.requests < 1 or args.seconds <= 0 or args.clients < 1 or args.workers < 1 or args.pin_requests < 0:
        parser.error("--requests, --seconds, --clients and --workers must be positive")
    if not 0 <= args.mix_pin_clients < args.clients:
        parser.error("--mix-pin-clients must leave at least one of --clients to advance")
    args.mix_pins = round(MIX_PINS_PER_SECOND * args.seconds) if args.pin_requests and args.mix_pin_clients else 0
    return args


def _triggers(ids: list[str], trigger: str, token: str, body: bytes) -> Iterator[bytes]:
    return (request_bytes("POST", f"/enrollments/{i}/triggers/{trigger}", HOST, token, body) for i in ids)


@dataclass
class Measured:
    phases: list[Phase]  # the timed ones first (no-op, advancing, ...), then the warm-ups
    rss_start: dict[int, float]  # MiB per worker after the warm-up
    rss_end: dict[int, float]  # and after the last phase (the soak's, when there is one)
    rss_peak: dict[int, float]  # the most each worker held at any moment (VmHWM), read at the end
    soak: api_load_soak.Soak | None = None
    mixed: dict[str, float] = field(default_factory=dict)  # the PIN mix's verdicts, when it ran


def _measure(args: argparse.Namespace, folder: Path, url: str, seeded: Seeded) -> Measured:
    token, cpus = seeded.token, os.cpu_count() or 1
    me = request_bytes("GET", "/me", HOST, token)
    port = free_port()
    with service(folder, url, port, args.workers, access_log=not args.no_access_log) as pid:
        def server_cpu() -> dict[int, float]:
            return cpu_by_process(pid)

        def timed(label: str, requests: Iterator[bytes], limit: int) -> Phase:
            return run_phase(label, HOST, port, requests, clients=args.clients, max_requests=limit,
                             max_seconds=args.seconds, cpu_of_server=server_cpu,
                             connections=lambda: connections_by_process(port))

        onboarding, pins = seeded.onboarding, seeded.pin
        first = _triggers(onboarding[:WARM_ONBOARDING], "enable_portal_access", token, ENABLE)
        warm = [run_phase("warm-up no-op", HOST, port, itertools.repeat(me), clients=args.clients,
                          max_requests=400, max_seconds=10),
                run_phase("warm-up advancing", HOST, port, first, clients=args.clients,
                          max_requests=WARM_ONBOARDING, max_seconds=30)]
        if args.pin_requests:
            warm.append(run_phase("warm-up PIN", HOST, port, _triggers(pins[:WARM_PIN], "generate_pin", token, b"{}"),
                                  clients=args.clients, max_requests=WARM_PIN, max_seconds=30))
        failed = sum(w.non_2xx + sum(w.errors.values()) for w in warm)
        print(f"service: {process_count(pid)} processes (uvicorn's supervisor, its workers and helpers); warm-up: "
              f"{sum(w.answered for w in warm)} answers ({failed} not 2xx or failed), untimed")
        rss_start = worker_rss_mib(pid)
        advancing = onboarding[WARM_ONBOARDING:WARM_ONBOARDING + args.requests]
        phases = [timed("no-op", itertools.repeat(me), args.requests),
                  timed("advancing", _triggers(advancing, "enable_portal_access", token, ENABLE), args.requests)]
        report(phases[0], "GET /me", cpus)
        report(phases[1], "POST .../triggers/enable_portal_access", cpus)
        if args.pin_requests:
            phases.append(timed("PIN", _triggers(pins[WARM_PIN:], "generate_pin", token, b"{}"), args.pin_requests))
            report(phases[-1], "POST .../triggers/generate_pin, Argon2id production cost", cpus)
        mixed: dict[str, float] = {}
        if args.mix_pins:
            start = WARM_ONBOARDING + args.requests
            adding = onboarding[start:start + args.requests]
            pinning = pins[WARM_PIN + args.pin_requests:]
            pin, others = api_load_mix.mix(HOST, port, _triggers(pinning, "generate_pin", token, b"{}"),
                                           _triggers(adding, "enable_portal_access", token, ENABLE),
                                           pin_clients=args.mix_pin_clients, clients=args.clients,
                                           max_requests=args.requests, max_seconds=args.seconds)
            phases += [pin, others]
            report(pin, f"generate_pin on {args.mix_pin_clients} clients, while the others advance", cpus)
            report(others, f"enable_portal_access on {args.clients - args.mix_pin_clients} clients meanwhile", cpus)
            mixed = api_load_mix.verdicts(pin, others, phases[1])
        if args.page_users:
            offset = WARM_ONBOARDING + args.requests * (2 if args.mix_pins else 1)
            stream = api_load_pages.visits(port, api_load_pages.clerks(args.page_users), onboarding[offset:],
                                           seeded.patients[offset:])
            page = run_phase("pages", HOST, port, iter(stream), clients=args.page_users,
                             max_requests=args.requests, max_seconds=args.seconds, cpu_of_server=server_cpu,
                             connections=lambda: connections_by_process(port))
            page.acts = stream.acts
            phases.append(page)
            report(page, f"{args.page_users} signed-in users: home, search, patient, enrollment, action "
                          f"({stream.acts} actions)", cpus)
        soaked = (api_load_soak.soak(args.soak, url, port, pid, token, args.clients, server_cpu)
                  if args.soak else None)
        return Measured(phases + warm, rss_start, worker_rss_mib(pid), worker_rss_mib(pid, "VmHWM"), soaked, mixed)


def _check_writes(url: str, advanced: int, pinned: int) -> tuple[bool, str]:
    """Every 2xx transition is in the database, no other moved, and the audit chains verify."""
    db = make_engine(url)
    try:
        with db.connect() as conn:
            def count(state: str) -> int:
                return int(conn.execute(select(func.count()).select_from(enrollments)
                                        .where(enrollments.c.state == state)).scalar_one())
            # The soak invites enrollments that were enabled: they count as enabled still.
            enabled, pending = count("access_enabled") + count("invited"), count("pending_registration")
            report = verify(conn)
    finally:
        db.dispose()
    ok = enabled == advanced and pending == pinned and report.ok
    return ok, (f"{enabled} enrollments in access_enabled or invited (2xx answers: {advanced}), {pending} in "
                f"pending_registration (2xx: {pinned}); audit verify: "
                + (f"ok, {report.events_checked} events in {report.chains} chains" if report.ok
                   else f"ALTERED: {report.first_problem}"))


def _ceiling(args: argparse.Namespace, token: str, cpus: int) -> Phase:
    port = free_port()
    with canned_server(port) as pid:
        phase = run_phase("client-only", HOST, port, itertools.repeat(request_bytes("GET", "/me", HOST, token)),
                          clients=args.clients, max_requests=max(args.requests, 5000),
                          max_seconds=min(args.seconds, 5.0), cpu_of_server=lambda: cpu_by_process(pid))
    report(phase, "the same GET /me to a server answering a canned 200", cpus)
    return phase


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    cpus = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="portalflow-api-load-", dir=args.dir) as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'portalflow.db'}"
        print(f"PortalFlow API load: {args.clients} clients, {args.workers} workers, at most {args.requests} "
              f"answers or {args.seconds:g} s per phase; Python {platform.python_version()}, SQLite "
              f"{sqlite3.sqlite_version}, {cpus} CPUs shared by the service and the client; database on "
              f"{filesystem(folder)} ({folder}); "
              + ("uvicorn without access log" if args.no_access_log else "portalflow serve (access log on)"))
        pins = args.pin_requests + WARM_PIN + args.mix_pins if args.pin_requests else 0
        page_visits = args.requests // 5 + 1 if args.page_users else 0
        advances = args.requests * (2 if args.mix_pins else 1)
        seeded = seed(folder, url, advances + WARM_ONBOARDING + page_visits, pins,
                      tuple(api_load_pages.clerks(args.page_users)), api_load_pages.PASSWORD)
        print(f"seeded: staff user with a token, {len(seeded.onboarding) + len(seeded.pin)} patients and their "
              f"enrollments in {seeded.seconds:.1f} s, untimed")
        measured = _measure(args, folder, url, seeded)
        phases = measured.phases
        noop, advancing = phases[0], phases[1]
        moved = {p.label.removeprefix("warm-up "): 0 for p in phases}
        for p in phases:
            moved[p.label.removeprefix("warm-up ")] += p.statuses[200]
        acted = sum(p.acts for p in phases)
        ok, detail = _check_writes(url, moved["advancing"] + moved.get("mix advancing", 0) + acted,
                                   moved.get("PIN", 0) + moved.get("mix PIN", 0))
        print(f"after the run: {detail}")
        ceiling = _ceiling(args, seeded.token, cpus)
        print(f"  {'':<10} the client alone drives {ceiling.rate / max(noop.rate, 1):.1f}x the no-op rate; during "
              f"the no-op phase it used {100 * noop.client_cpu / (cpus * noop.seconds):.0f}% of the machine")
        figures: dict[str, object] = {**api_load_report.verdicts(noop, advancing, phases, args.clients)}
        figures |= api_load_report.memory(measured.rss_start, measured.rss_end, measured.rss_peak)
        figures |= measured.mixed
    timed = [p for p in phases if not p.label.startswith("warm-up")]
    figures |= {p.label: api_load_report.figures(p) for p in [*timed, ceiling]}
    broken = [p.label for p in timed if p.server_errors or p.errors or p.non_2xx]
    if measured.soak is not None:
        soaked = figures["soak"] = api_load_soak.report(measured.soak)
        if soaked["5xx"] or soaked["errors"]:  # a conflict (409) between two clients is an answer, not a failure
            broken.append("soak")
    figures |= {"workers": args.workers, "clients": args.clients, "writes_ok": ok, "broken": broken}
    if broken or not ok:
        print(f"BROKEN RUN: {', '.join(broken) or 'writes missing'}", file=sys.stderr)
    print_summary("api_load", figures)
    return 1 if broken or not ok else 0


if __name__ == "__main__":
    raise SystemExit(main())
