"""`bench.api_load`'s PIN mix: PINs issued while other staff advance enrollments, side by side.

Issue 14 asks that PIN generation answer with p99 < 1 s while the other writers stay unaffected (their p99
< 150 ms during it). A PIN costs Argon2id at the production cost (19 MiB, 2 passes, one lane: ~16 ms of a core), so a
phase of only PINs at 32 clients measures the queue in front of the cores, not whether a PIN holds up anyone else.
Here `pin_clients` of the connections issue PINs (POST .../triggers/generate_pin) while the others advance
enrollments (POST .../triggers/enable_portal_access), both for the same seconds: two `run_phase`s at once, each in its
own thread with its own event loop. The advancing phase run alone before it is the comparison: what the PINs cost
the other writers is the difference.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from bench.api_load_client import Phase, run_phase
from bench.api_load_report import P99_TARGET, met, ms

PIN_P99_TARGET = 1.0
OTHERS_P99_TARGET = 0.150


def mix(host: str, port: int, pins: Iterator[bytes], advances: Iterator[bytes], *, pin_clients: int, clients: int,
        max_requests: int, max_seconds: float) -> tuple[Phase, Phase]:
    """PINs over `pin_clients` connections and advances over the rest of `clients`, at the same time."""
    with ThreadPoolExecutor(2, thread_name_prefix="mix") as pool:
        pinning = pool.submit(run_phase, "mix PIN", host, port, pins, clients=pin_clients,
                              max_requests=max_requests, max_seconds=max_seconds)
        advancing = pool.submit(run_phase, "mix advancing", host, port, advances, clients=clients - pin_clients,
                                max_requests=max_requests, max_seconds=max_seconds)
        return pinning.result(), advancing.result()


def verdicts(pin: Phase, others: Phase, alone: Phase) -> dict[str, float]:
    """The mix against its targets, and the other writers' p99 beside their p99 when no PIN was being issued."""
    pin_p99, others_p99 = pin.percentile(99), others.percentile(99)
    print(f"PIN mix: {pin.answered} PINs at {pin.rate:.1f}/s, p99 {ms(pin_p99).strip()} (target < "
          f"{ms(PIN_P99_TARGET).strip()}: {met(pin_p99 < PIN_P99_TARGET)}); meanwhile {others.answered} advances, "
          f"p99 {ms(others_p99).strip()} (target < {ms(OTHERS_P99_TARGET).strip()}: "
          f"{met(others_p99 < OTHERS_P99_TARGET)}; alone {ms(alone.percentile(99)).strip()}, the advancing target "
          f"alone being < {ms(P99_TARGET).strip()})")
    return {"mix_pin_p99_ms": 1000 * pin_p99, "mix_others_p99_ms": 1000 * others_p99,
            "mix_others_p99_vs_alone": others_p99 / alone.percentile(99) if alone.latencies else 0.0}
