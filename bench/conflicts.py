"""Defect 1 of issue 15, under load: conflicting advances over HTTP on PostgreSQL answer 200, 409 or 422, never 500,
and lose no update.

    python -m bench.conflicts [--requests 1000] [--clients 24] [--enrollments 4] [--workers 2] [--database-url URL]

Untimed: a fresh PostgreSQL schema (PORTALFLOW_TEST_DATABASE_URL, or --database-url), a staff user and its token,
N patients each with a PxP enrollment invited once, then `portalflow serve --workers 2` on it. Then the clients
send `enroll_now` (invited -> invited, at most 4 invites in 30 days) to the N enrollments, round robin: every
other request carries `If-Match` with the version the enrollment had at the start (stale after the first move:
409), the others none (each moves, until the limit refuses with 422 and records the refusal in the chain). The
mix is what broke before the fix: a refusal recorded meanwhile made a correct advance write a stale sequence.
Afterwards: each enrollment's version equals its start version plus its 200 answers (no lost update), its invites
match, and the audit chains verify. The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from sqlalchemy import func, select

from bench.api_load_client import run_phase
from bench.api_load_server import HOST, free_port, insert_practice, service
from bench.summary import print_summary
from bench.sweep import _schema
from definitions.model import Actor
from engine.actors import ActorRef
from engine.audit.verify import verify
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment
from engine.storage.database import make_engine
from engine.storage.tables import enrollments, outbox

ROOT = Path(__file__).resolve().parent.parent
PXP = "nextgen-pxp-portal-invites"
STEPS = b'{"inputs": {"confirm_required_fields": true, "enroll_now": "chart_banner"}}'
CLI = ActorRef("cli", "admin", Actor.STAFF)


def _seed(url: str, folder: Path, count: int) -> tuple[str, dict[str, int]]:
    """The practice, a staff token, and `count` PxP enrollments invited once; their ids and versions."""
    flow = build(url, ROOT / "workflows", hash_cost=TEST_COST, key_file=folder / "var" / "outbox.key",
                 mail_folder=folder / "var" / "mail")
    try:
        insert_practice(flow.db, [f"b-{n}" for n in range(count)])
        flow.users.create(CLI, "ana", "Ana Front Desk", "staff", linked_to_staff_record=True)
        token = flow.users.issue_token(CLI, "ana", "bench").value
        actor = flow.users.get("ana").actor
        versions = {}
        for n in range(count):
            started = flow.start(StartEnrollment(PXP, actor, patient_id=f"b-{n}"))
            moved = flow.advance(AdvanceEnrollment(started.enrollment_id, "enroll_now", actor, started.version,
                                                   {"confirm_required_fields": True, "enroll_now": "chart_banner"}))
            versions[started.enrollment_id] = moved.version
        return token, versions
    finally:
        flow.db.dispose()


def _request(enrollment_id: str, token: str, if_match: int | None) -> bytes:
    lines = [f"POST /enrollments/{enrollment_id}/triggers/enroll_now HTTP/1.1", f"Host: {HOST}",
             "Accept: application/json", f"Authorization: Bearer {token}", "Content-Type: application/json",
             f"Content-Length: {len(STEPS)}"]
    if if_match is not None:
        lines.append(f'If-Match: "{if_match}"')
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + STEPS


def _after(url: str, start: dict[str, int]) -> tuple[int, int, bool, str]:
    """Version bumps since the start, invites queued since, and whether the history verifies."""
    db = make_engine(url)
    try:
        with db.connect() as conn:
            now = dict(conn.execute(select(enrollments.c.id, enrollments.c.version)).all())
            invites = int(conn.execute(select(func.count()).select_from(outbox)).scalar_one())
            report = verify(conn)
    finally:
        db.dispose()
    bumps = sum(now[e] - v for e, v in start.items())
    return bumps, invites - len(start), report.ok, report.first_problem or f"{report.events_checked} events"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.conflicts", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--enrollments", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get("PORTALFLOW_TEST_DATABASE_URL"))
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url or set PORTALFLOW_TEST_DATABASE_URL (a PostgreSQL server)")
    with _schema(args.database_url) as url, tempfile.TemporaryDirectory(prefix="portalflow-conflicts-") as tmp:
        folder = Path(tmp)
        token, start = _seed(url, folder, args.enrollments)
        ids = list(start)
        stream = (_request(ids[i % len(ids)], token, start[ids[i % len(ids)]] if i % 2 == 0 else None)
                  for i in range(args.requests))
        port = free_port()
        with service(folder, url, port, args.workers):
            phase = run_phase("conflicts", HOST, port, stream, clients=args.clients, max_requests=args.requests,
                              max_seconds=600)
        bumps, invites, verified, detail = _after(url, start)
    moved = phase.statuses[200]
    figures = {"requests": phase.answered, "statuses": {str(k): v for k, v in sorted(phase.statuses.items())},
               "5xx": phase.server_errors, "transport_errors": sum(phase.errors.values()),
               "moved_200": moved, "version_bumps": bumps, "invites_queued": invites,
               "lost_updates": moved - bumps, "audit_verifies": verified}
    print(f"{phase.answered} conflicting enroll_now requests from {args.clients} clients on {args.enrollments} "
          f"enrollments, {args.workers} workers on PostgreSQL: statuses {figures['statuses']}; 5xx "
          f"{phase.server_errors}; 200s {moved}, version bumps {bumps}, invites queued {invites}; audit "
          f"{'verifies' if verified else 'ALTERED'} ({detail})")
    print_summary("conflicts", figures)
    broken = phase.server_errors or phase.errors or moved != bumps or moved != invites or not verified
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
