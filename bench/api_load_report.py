"""What `bench.api_load` prints: one block per phase, the workers' memory, the verdicts against the issue's
targets, and the figures of its JSON summary line (`bench.summary`)."""

from __future__ import annotations

from bench.api_load_client import Phase

RATIO_TARGET = 0.3
P99_TARGET = 0.100
RSS_TARGET_MIB = 150.0


def ms(seconds: float) -> str:
    return f"{1000 * seconds:6.1f} ms"


def report(phase: Phase, what: str, cpus: int) -> None:
    slowest = max(phase.latencies, default=0.0)
    print(f"  {phase.label:<10} {phase.rate:7.0f} req/s  ({phase.answered} in {phase.seconds:5.2f} s)  "
          f"p50 {ms(phase.percentile(50))}  p99 {ms(phase.percentile(99))}  max {ms(slowest)}"
          f"  non-2xx {phase.non_2xx}  5xx {phase.server_errors}  errors {sum(phase.errors.values())}  [{what}]")
    n = max(phase.answered, 1)
    busy = f"client {100 * phase.client_cpu / (cpus * phase.seconds):3.0f}%"
    per_request = f"client {1e6 * phase.client_cpu / n:5.0f} us"
    if phase.server_cpu is not None:
        busy = f"server {100 * phase.server_cpu / (cpus * phase.seconds):3.0f}%, " + busy
        per_request = f"server {1e6 * phase.server_cpu / n:5.0f} us, " + per_request
    print(f"  {'':<10} CPU per answer: {per_request}; share of the {cpus} CPUs: {busy}")
    if phase.connections_by_process:  # a worker left idle, or starved by the other, shows here
        split = ", ".join(f"{phase.connections_by_process[pid]} connections and "
                          f"{100 * phase.server_cpu_by_process.get(pid, 0.0) / phase.seconds:.0f}% of a CPU"
                          for pid in sorted(phase.connections_by_process))
        print(f"  {'':<10} per worker: {split}")
    if phase.errors or phase.non_2xx:
        print(f"  {'':<10} statuses {dict(phase.statuses)}; errors {dict(phase.errors)}")


def memory(start: dict[int, float], end: dict[int, float], peak: dict[int, float]) -> dict[str, float]:
    """Each worker's RSS after the warm-up and after the last phase, and its peak in between; the largest of
    each, and the largest growth."""
    both = sorted(set(start) & set(end))
    growth = max((end[pid] - start[pid] for pid in both), default=0.0)
    largest, highest = max(end.values(), default=0.0), max(peak.values(), default=0.0)
    print(f"RSS per worker (VmRSS): after warm-up {_each(start)}; after the last phase {_each(end)}; largest "
          f"{largest:.1f} MiB (target < {RSS_TARGET_MIB:.0f} MiB: {met(0 < largest < RSS_TARGET_MIB)}), "
          f"growth at most {growth:+.1f} MiB; peak at any moment (VmHWM) {_each(peak)}"
          + (" (the PIN phase: Argon2id holds 19 MiB per hash in progress)" if highest >= RSS_TARGET_MIB else ""))
    return {"rss_mib_per_worker": largest, "rss_mib_per_worker_start": max(start.values(), default=0.0),
            "rss_growth_mib": growth, "rss_peak_mib_per_worker": highest, "workers_measured": len(both)}


def _each(rss: dict[int, float]) -> str:
    return ", ".join(f"{rss[pid]:.1f}" for pid in sorted(rss)) + " MiB" if rss else "not readable"


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def verdicts(noop: Phase, advancing: Phase, phases: list[Phase], clients: int) -> dict[str, float | int]:
    ratio = advancing.rate / noop.rate if noop.rate else 0.0
    p99 = advancing.percentile(99)
    fives = sum(p.server_errors for p in phases)
    print(f"\nratio advancing/no-op: {ratio:.2f}x (target >= {RATIO_TARGET}x: {met(ratio >= RATIO_TARGET)})")
    print(f"p99 advancing {ms(p99).strip()} at {clients} clients "
          f"(target < {ms(P99_TARGET).strip()}: {met(p99 < P99_TARGET)}); "
          f"p99 no-op {ms(noop.percentile(99)).strip()}")
    print(f"5xx over every phase: {fives} (target 0: {met(fives == 0)})")
    return {"ratio_advancing_noop": ratio, "5xx": fives}


def figures(phase: Phase) -> dict[str, float | int]:
    """One phase's figures for the summary line: rate, p50/p99 in ms, 5xx, other non-2xx, transport errors."""
    found: dict[str, float | int] = {"per_s": phase.rate, "answered": phase.answered}
    if phase.latencies:  # a figure not measured is left out, never NaN or 0
        found |= {"p50_ms": 1000 * phase.percentile(50), "p99_ms": 1000 * phase.percentile(99)}
    return found | {"5xx": phase.server_errors, "non_2xx": phase.non_2xx, "errors": sum(phase.errors.values())}
