"""`python -m bench.reads --soak MINUTES`: a mixed load on the service serving the 1,000,000-enrollment file, each
worker's RSS read every 30 s (issue 14: "RSS < 150 MiB per worker with 1M enrollments stored, flat over a
10-minute mixed load").

The mix goes round in eights: one write (POST send_invitation on one of the practice's ~32,000 onboarding
enrollments waiting in `invited`: a transition that issues a link, queues a message and appends an audit row; it
may repeat, invited -> invited, so the ids last any soak), five reads of random enrollments, one worklist (the four
in turn, and one site's invites), one patient. Fixed random sequences, so that runs compare.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from typing import Any

from bench.api_load_client import request_bytes
from bench.api_load_server import HOST, worker_rss_mib
from bench.api_load_soak import INVITE, SAMPLE_SECONDS, report, sampled

WORKLISTS = ("/worklists/pins-expiring", "/worklists/invites-waiting", "/worklists/households-part-registered",
             "/worklists/messages-failed", "/worklists/invites-waiting?site_id=north")


def invited_onboarding(enrollments: int, households: int) -> list[str]:
    """The practice's onboarding enrollments in `invited` (tests/practice_at_scale.py: a patient's enrollment i has
    workflow i % 3 == 2 for onboarding, and i % 10 == 8 is waiting on the patient)."""
    return [f"se{i:07d}" for i in range(2 * households, enrollments) if i % 3 == 2 and i % 10 == 8]


def mixed(token: str, enrollments: int, patients: int, households: int) -> Iterator[bytes]:
    pick = random.Random(14)
    writes = itertools.cycle(invited_onboarding(enrollments, households))
    lists = itertools.cycle(WORKLISTS)
    while True:
        yield request_bytes("POST", f"/enrollments/{next(writes)}/triggers/send_invitation", HOST, token, INVITE)
        for _ in range(5):
            yield request_bytes("GET", f"/enrollments/se{pick.randrange(enrollments):07d}", HOST, token)
        yield request_bytes("GET", next(lists), HOST, token)
        yield request_bytes("GET", f"/patients/sp{pick.randrange(patients):07d}", HOST, token)


def soak(minutes: float, port: int, supervisor: int, token: str, clients: int,
         server_cpu: Callable[[], dict[int, float]], practice: Any) -> dict[str, Any]:
    """Run it; the report of `bench.api_load_soak` (first, last, largest RSS per worker) and each worker's peak."""
    print(f"\nsoak: {minutes:g} min of mixed load on 1,000,000 stored enrollments (per 8 requests: 1 send_invitation, "
          f"5 enrollment reads, 1 worklist, 1 patient), {clients} clients; RSS per worker every {SAMPLE_SECONDS:g} s",
          flush=True)
    stream = mixed(token, practice.ENROLLMENTS, practice.PATIENTS, practice.HOUSEHOLDS)
    found = sampled(minutes, port, supervisor, stream, clients, server_cpu)
    figures = report(found)
    peaks = worker_rss_mib(supervisor, "VmHWM")
    print("peak RSS per worker since it started (VmHWM): "
          + ", ".join(f"{pid} {mib:.1f} MiB" for pid, mib in sorted(peaks.items())), flush=True)
    figures["rss_mib_peak_by_worker"] = {str(pid): mib for pid, mib in sorted(peaks.items())}
    return figures
