"""The rounds of `python -m bench`: engine, raw-SQL baseline and Core side by side, in every place, alternating.

Each round builds fresh SQLite files (untimed) and times one pass of each side in each place (disk, tmpfs). The
order turns over every round (E B C, then C B E; disk first, then tmpfs first) so that a noisy neighbour on the
shared cores hurts every side alike. A ratio is only ever taken between passes of one place in one run.
An optional peer (SpiffWorkflow) gets one run per round, before the places on even rounds and after them on odd
ones, so that it alternates with PortalFlow's durable advance too. Each round also times a 4 KiB append and its
fdatasync in each place: on a disk shared with other benches that flush, not the engine, sets the durable rate.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.baseline import BaselineSetup
from bench.engine_run import EngineSetup, Pass
from bench.memory import mib, rss_bytes
from bench.places import Place, flush_us

Sides = ("engine", "baseline", "core")


@dataclass
class PlaceRuns:
    """Every timed pass made in one place."""

    place: Place
    passes: dict[str, list[Pass]] = field(default_factory=lambda: {side: [] for side in Sides})
    start_rates: list[float] = field(default_factory=list)
    flushes: list[float] = field(default_factory=list)  # us for a 4 KiB append + fdatasync, once per round

    def best(self, side: str) -> float:
        return max(p.rate for p in self.passes[side])

    def median(self, side: str) -> float:
        return statistics.median(p.rate for p in self.passes[side])

    @property
    def ratio(self) -> float:
        """Engine against baseline, best against best: the least disturbed pass of each."""
        return self.best("engine") / self.best("baseline")

    @property
    def median_ratio(self) -> float:
        return self.median("engine") / self.median("baseline")

    @property
    def paired(self) -> list[float]:
        """Engine against baseline within each round, where the two passes ran next to each other: when the
        neighbours' load drifts (a shared disk's flush went from 0.9 to 4 ms between rounds, seen), these pairs
        drift less than bests or medians taken over all rounds."""
        return [e.rate / b.rate for e, b in zip(self.passes["engine"], self.passes["baseline"], strict=True)]


def line(label: str, run: Pass) -> str:
    return (f"  {label:<15} {run.rate:8.0f} commits/s  ({run.commits} in {run.seconds:6.2f} s)  "
            f"RSS after 1/4 {mib(run.memory.quarter)}, after all {mib(run.memory.full)}")


def _engine_pass(folder: Path, workflows: Path, n: int) -> tuple[Pass, str, float]:
    setup = EngineSetup.create(folder, workflows, n)
    try:
        run = setup.advance_all(rss_bytes)
        return run, setup.check(), n / setup.start_seconds
    finally:
        setup.close()


def _baseline_pass(folder: Path, n: int, *, core: bool = False) -> Pass:
    setup = BaselineSetup.create(folder, n)
    try:
        return setup.advance_all_core(rss_bytes) if core else setup.advance_all(rss_bytes)
    finally:
        setup.close()


def _one_side(side: str, runs: PlaceRuns, folder: Path, workflows: Path, n: int) -> None:
    label = f"{runs.place.label} {side}"
    if side == "engine":
        run, checked, start_rate = _engine_pass(folder, workflows, n)
        runs.start_rates.append(start_rate)
        print(line(label, run) + f"  [starts {start_rate:.0f}/s; {checked}]", flush=True)
    else:
        run = _baseline_pass(folder, n, core=side == "core")
        note = "  [informational: same writes, SQLAlchemy Core, prebuilt statements]" if side == "core" else ""
        print(line(label, run) + note, flush=True)
    runs.passes[side].append(run)


def run_rounds(roots: dict[str, Path], places: list[Place], workflows: Path, n: int, rounds: int,
               peer: Callable[[], None] | None = None) -> list[PlaceRuns]:
    """`rounds` rounds over every place; `roots` maps a place's label to the scratch folder made in it."""
    results = [PlaceRuns(place) for place in places]
    for r in range(rounds):
        print(f"round {r + 1}:", flush=True)
        if peer is not None and r % 2 == 0:
            peer()
        ordered = results if r % 2 == 0 else results[::-1]
        for runs in ordered:
            runs.flushes.append(flush_us(roots[runs.place.label]))
            print(f"  {runs.place.label + ' flush':<15} {runs.flushes[-1]:8.0f} us median for a 4 KiB append and its "
                  "fdatasync (the floor of one durable commit there)", flush=True)
            for side in (Sides if r % 2 == 0 else Sides[::-1]):
                _one_side(side, runs, roots[runs.place.label] / f"round{r}-{side}", workflows, n)
        if peer is not None and r % 2 == 1:
            peer()
    return results


def report(runs: PlaceRuns, target: float) -> dict[str, object]:
    """Print one place's verdict; its figures for the summary line."""
    engine, baseline, core = runs.best("engine"), runs.best("baseline"), runs.best("core")
    met = runs.ratio >= target
    where = f"{runs.place.label} ({runs.place.filesystem}, {runs.place.parent})"
    print(f"\n{where}:")
    print(f"  engine   best {engine:.0f} commits/s, median {runs.median('engine'):.0f}")
    print(f"  baseline best {baseline:.0f} commits/s, median {runs.median('baseline'):.0f}")
    print(f"  core     best {core:.0f} commits/s, median {runs.median('core'):.0f} "
          f"(informational: {core / baseline:.2f}x baseline; engine {engine / core:.2f}x it)")
    paired = runs.paired
    print(f"  ratio engine/baseline: best/best {runs.ratio:.2f}x, median/median {runs.median_ratio:.2f}x "
          f"(target >= {target}x: {'met' if met else 'NOT met'}); round by round "
          f"{', '.join(f'{r:.2f}x' for r in paired)}, median {statistics.median(paired):.2f}x")
    print(f"  cost per transition ~{1e6 / engine:.0f} us vs baseline ~{1e6 / baseline:.0f} us "
          f"(engine overhead ~{1e6 / engine - 1e6 / baseline:.0f} us)")
    flush = statistics.median(runs.flushes)
    print(f"  flush (4 KiB append + fdatasync): median {flush:.0f} us over the rounds, so at most ~{1e6 / flush:.0f} "
          "durable commits/s there, whatever the engine does")
    growth = [p.memory.growth for p in runs.passes["engine"]]
    print(f"  RSS growth after 1/4 -> after all, engine passes: {', '.join(f'{g / 1024:+.0f} KiB' for g in growth)}")
    return {"filesystem": runs.place.filesystem, "engine_per_s": engine, "engine_median_per_s": runs.median("engine"),
            "baseline_per_s": baseline, "baseline_median_per_s": runs.median("baseline"), "core_per_s": core,
            "ratio": runs.ratio, "ratio_median": runs.median_ratio,
            "ratio_paired_median": statistics.median(paired), "target": target, "met": met,
            "engine_us": 1e6 / engine, "baseline_us": 1e6 / baseline,
            "starts_per_s": statistics.median(runs.start_rates), "flush_us": flush,
            "rss_growth_kib": [round(g / 1024, 1) for g in growth]}
