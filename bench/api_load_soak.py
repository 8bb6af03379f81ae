"""`python -m bench.api_load --soak MINUTES`: a mixed load on the running service, each worker's RSS read every
30 s, to show whether its memory stays flat over a long run.

The mix goes round the enrollments already in access_enabled (read from the database once the timed phases have
put them there), four requests each: POST send_invitation (a transition: invited again, a link issued, a message
queued in the outbox), GET the enrollment, GET its patient, GET /me; one write in four. send_invitation may be
repeated (invited -> invited), so a fixed set of enrollments carries a soak of any length. It runs on what the
bench seeded (a few thousand enrollments), not on a million stored ones: that seeding is another bench's.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from bench.api_load_client import Phase, request_bytes, run_phase
from bench.api_load_server import HOST, worker_rss_mib
from engine.storage.database import make_engine
from engine.storage.tables import enrollments

SAMPLE_SECONDS = 30.0
INVITE = b'{"inputs": {"send_from": "onboarding_tool", "confirm_email_personal": true}}'


@dataclass
class Soak:
    minutes: float
    chunks: list[Phase] = field(default_factory=list)
    samples: list[tuple[float, dict[int, float]]] = field(default_factory=list)  # seconds in, MiB per worker

    @property
    def statuses(self) -> Counter[int]:
        return sum((c.statuses for c in self.chunks), Counter())


def enabled(url: str, limit: int = 20_000) -> list[tuple[str, str]]:
    """Enrollments in access_enabled, with their patients: the soak may invite each of them again and again."""
    db = make_engine(url)
    try:
        with db.connect() as conn:
            rows = conn.execute(select(enrollments.c.id, enrollments.c.patient_id)
                                .where(enrollments.c.state == "access_enabled").order_by(enrollments.c.id)
                                .limit(limit)).all()
    finally:
        db.dispose()
    return [(str(e), str(p)) for e, p in rows]


def mixed(pairs: list[tuple[str, str]], token: str) -> Iterator[bytes]:
    for enrollment, patient in itertools.cycle(pairs):
        yield request_bytes("POST", f"/enrollments/{enrollment}/triggers/send_invitation", HOST, token, INVITE)
        yield request_bytes("GET", f"/enrollments/{enrollment}", HOST, token)
        yield request_bytes("GET", f"/patients/{patient}", HOST, token)
        yield request_bytes("GET", "/me", HOST, token)


def soak(minutes: float, url: str, port: int, supervisor: int, token: str, clients: int,
         server_cpu: Callable[[], dict[int, float]]) -> Soak | None:
    """Run the mixed load for `minutes` in chunks of 30 s, reading every worker's RSS before and after each."""
    pairs = enabled(url)
    if len(pairs) < 4 * clients:  # fewer, and two clients would often move one enrollment at once (409s)
        print(f"soak skipped: only {len(pairs)} enrollments in access_enabled, fewer than 4 per client")
        return None
    print(f"\nsoak: {minutes:g} min of mixed load (send_invitation, GET enrollment, GET patient, GET /me) on "
          f"{len(pairs)} enrollments, {clients} clients; RSS per worker every {SAMPLE_SECONDS:g} s", flush=True)
    return sampled(minutes, port, supervisor, mixed(pairs, token), clients, server_cpu)


def sampled(minutes: float, port: int, supervisor: int, stream: Iterator[bytes], clients: int,
            server_cpu: Callable[[], dict[int, float]]) -> Soak:
    """`stream`'s requests for `minutes`, in chunks of 30 s; every worker's RSS before the first and after each."""
    found = Soak(minutes, samples=[(0.0, worker_rss_mib(supervisor))])
    began = time.monotonic()
    deadline = began + 60 * minutes
    while (left := deadline - time.monotonic()) > 1.0:
        chunk = run_phase("soak", HOST, port, stream, clients=clients, max_requests=10**9,
                          max_seconds=min(SAMPLE_SECONDS, left), cpu_of_server=server_cpu)
        found.chunks.append(chunk)
        at = time.monotonic() - began
        found.samples.append((at, worker_rss_mib(supervisor)))
        rss = ", ".join(f"{v:.1f}" for _pid, v in sorted(found.samples[-1][1].items()))
        print(f"  {at / 60:5.1f} min  {chunk.rate:6.0f} req/s  p99 {1000 * chunk.percentile(99):6.1f} ms  "
              f"5xx {chunk.server_errors}  non-2xx {chunk.non_2xx}  RSS per worker {rss} MiB", flush=True)
    return found


def report(found: Soak) -> dict[str, Any]:
    """The soak's verdict on memory (first, last and largest reading of any worker) and its traffic."""
    first, last = found.samples[0][1], found.samples[-1][1]
    every = [mib for _at, reading in found.samples for mib in reading.values()]
    growth = max((last[pid] - first[pid] for pid in set(first) & set(last)), default=0.0)
    latencies = sorted(x for c in found.chunks for x in c.latencies)
    seconds = sum(c.seconds for c in found.chunks)
    statuses = found.statuses
    print(f"soak over {seconds / 60:.1f} min: {len(latencies)} answers, statuses {dict(statuses)}; RSS per worker "
          f"first {max(first.values(), default=0.0):.1f}, last {max(last.values(), default=0.0):.1f}, largest "
          f"{max(every, default=0.0):.1f} MiB; growth at most {growth:+.1f} MiB")
    by_worker = {str(pid): {"first": first[pid], "last": last[pid],
                            "max": max(reading.get(pid, 0.0) for _at, reading in found.samples)}
                 for pid in sorted(set(first) & set(last))}
    for pid, rss in by_worker.items():
        print(f"  worker {pid}: first {rss['first']:.1f}, last {rss['last']:.1f}, largest {rss['max']:.1f} MiB")
    figures: dict[str, Any] = {
        "minutes": seconds / 60, "answered": len(latencies), "per_s": len(latencies) / seconds if seconds else 0.0,
        "5xx": sum(n for s, n in statuses.items() if s >= 500),
        "non_2xx": sum(n for s, n in statuses.items() if not 200 <= s < 300),
        "errors": sum(sum(c.errors.values()) for c in found.chunks),
        "rss_mib_first": max(first.values(), default=0.0), "rss_mib_last": max(last.values(), default=0.0),
        "rss_mib_max": max(every, default=0.0), "rss_growth_mib": growth, "samples": len(found.samples),
        "rss_mib_by_worker": by_worker}
    if latencies:
        figures["p50_ms"] = 1000 * latencies[max(0, math.ceil(0.5 * len(latencies)) - 1)]
        figures["p99_ms"] = 1000 * latencies[max(0, math.ceil(0.99 * len(latencies)) - 1)]
    return figures
