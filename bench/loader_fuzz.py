"""The workflow loader under mutated files: it must only ever return problems, never crash, never take seconds.

    python -m bench.loader_fuzz [--cases 100000] [--seed 1] [--processes 2] [--keep DIR] [--start N]

Each case takes one of the shipped workflows (workflows/*.yaml) and applies 1 to 4 random mutations: a character
replaced by one of YAML's indicators or a digit, a span deleted, a line duplicated, nesting brackets, an anchor or
an alias inserted, a long run of digits, a splice with another workflow, a truncation. It is read as the service
reads a file beside the workflows folder (its templates and handouts). Counted: crashes (any exception out of
`read_workflow`), the slowest case, and cases over 2 s; the first crashes and slow cases are written to --keep.
A case over 2 s is read twice more and counts as over only if its best of three is (on a shared machine a process
may wait seconds for a core: a case taking 0.03 s of CPU was timed at 2.4 s); how many were over at first is
printed too, and the slowest case's CPU time beside its wall time. Each process prints a line every 5,000 cases;
`--start N` goes on where a run cut short got to (its first N cases are made again, not read).
The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from bench.summary import print_summary
from definitions import read_workflow
from definitions.loader import surroundings_of

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / "workflows"
INDICATORS = "[]{}:,&*!|>'\"%@`#-?\n \t0123456789"
SLOW = 2.0
RETRIES = 2  # a case over SLOW is read twice more, and counts as over only if its best of three is


def mutate(texts: list[str], rng: random.Random) -> str:
    text = rng.choice(texts)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(text) + 1)
        kind = rng.randrange(9)
        if kind == 0:
            text = text[:at] + rng.choice(INDICATORS) + text[at + 1:]
        elif kind == 1:
            text = text[:at] + text[at + rng.randint(1, 200):]
        elif kind == 2:
            lines = text.splitlines(keepends=True) or [""]
            line = rng.randrange(len(lines))
            lines.insert(line, lines[line] * rng.randint(1, 50))
            text = "".join(lines)
        elif kind == 3:
            depth = rng.choice((10, 100, 1000, 5000))
            opener = rng.choice(("[", "{a: ", "- "))
            text = text[:at] + opener * depth + text[at:]
        elif kind == 4:
            inserted = rng.choice(("&a ", "*a ", "&b [*a, *a, *a] ", "<<: *a\n", "!!python/object "))
            text = text[:at] + inserted + text[at:]
        elif kind == 5:
            text = text[:at] + "9" * rng.choice((10, 500, 5000, 50000)) + text[at:]
        elif kind == 6:
            other = rng.choice(texts)
            text = text[:at] + other[rng.randrange(len(other)):]
        elif kind == 7:
            text = text[:at]
        else:
            text = text[:at] + rng.choice(("source: " + "x" * 300, "version: -1", "\x00", "\ufeff", "\\")) + text[at:]
    return text


def _read(text: str, surroundings: Any) -> tuple[float, float, str | None, bool]:
    """One reading of `text`: wall and CPU seconds, the crash (None: none) and whether problems were reported."""
    began, began_cpu = time.perf_counter(), time.process_time()
    try:
        problems, failure = bool(read_workflow(text, "fuzz.yaml", surroundings=surroundings).problems), None
    except Exception as error:  # any exception at all is the finding
        problems, failure = False, f"{type(error).__name__}: {str(error)[:300]}"
    return time.perf_counter() - began, time.process_time() - began_cpu, failure, problems


def run(seed: int, cases: int, keep: str | None, start: int = 0) -> dict[str, float]:
    warnings.simplefilter("ignore")  # ruamel warns on stderr of every reused anchor; the mutations make many
    texts = [p.read_text(encoding="utf-8") for p in sorted(WORKFLOWS.glob("*.yaml"))]
    surroundings = surroundings_of(WORKFLOWS)
    rng = random.Random(seed)
    for _ in range(start):  # the cases an earlier run read: made again (cheap) so that the next ones are the same
        mutate(texts, rng)
    crashes, slow, slow_first, slowest, slowest_cpu, problems_found = 0, 0, 0, 0.0, 0.0, 0
    for number in range(start, start + cases):
        text = mutate(texts, rng)
        took, took_cpu, failure, problems = _read(text, surroundings)
        problems_found += problems
        if failure is None and took > SLOW:  # timed again twice: on a shared machine a process may wait for a core
            slow_first += 1
            for _ in range(RETRIES):
                again, again_cpu, _, _ = _read(text, surroundings)
                took, took_cpu = min(took, again), min(took_cpu, again_cpu)
        slowest, slowest_cpu = max(slowest, took), max(slowest_cpu, took_cpu)
        if failure is not None or took > SLOW:
            crashes += failure is not None
            slow += took > SLOW
            if keep and crashes + slow <= 20:
                folder = Path(keep)
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"case-{seed}-{number}.yaml").write_text(text, encoding="utf-8")
                (folder / f"case-{seed}-{number}.txt").write_text(
                    f"{took:.3f} s ({took_cpu:.3f} s CPU); {failure}\n", encoding="utf-8")
        if (number + 1) % 5000 == 0:  # a run cut short says how far it got: `--start` goes on from there
            print(f"[seed {seed}] {number + 1}/{start + cases}: {crashes} crashes, {slow} over {SLOW:g} s (best of "
                  f"{1 + RETRIES}; {slow_first} at first), slowest {slowest:.3f} s ({slowest_cpu:.3f} s CPU)",
                  file=sys.stderr, flush=True)
    return {"cases": cases, "crashes": crashes, "over_2s": slow, "over_2s_first_timing": slow_first,
            "slowest_s": round(slowest, 3), "slowest_cpu_s": round(slowest_cpu, 3), "with_problems": problems_found}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loader_fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--keep", help="a folder for the first crashing or slow cases")
    parser.add_argument("--start", type=int, default=0, help="skip each process's first N cases (made again, not "
                        "read): go on where a run cut short said it got to")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    share = [args.cases // args.processes + (i < args.cases % args.processes) for i in range(args.processes)]
    with ProcessPoolExecutor(args.processes) as pool:
        parts = list(pool.map(run, [args.seed * 1000 + i for i in range(args.processes)], share,
                              [args.keep] * args.processes, [args.start] * args.processes))
    total = {"cases": sum(int(p["cases"]) for p in parts), "crashes": sum(int(p["crashes"]) for p in parts),
             "over_2s": sum(int(p["over_2s"]) for p in parts),
             "over_2s_first_timing": sum(int(p["over_2s_first_timing"]) for p in parts),
             "slowest_s": max(float(p["slowest_s"]) for p in parts),
             "slowest_cpu_s": max(float(p["slowest_cpu_s"]) for p in parts),
             "with_problems": sum(int(p["with_problems"]) for p in parts),
             "seconds": round(time.perf_counter() - began, 1)}
    print(f"{total['cases']} mutated workflows read in {total['seconds']} s: {total['crashes']} crashes, "
          f"{total['over_2s']} over {SLOW:g} s (best of {1 + RETRIES}; {total['over_2s_first_timing']} at first), "
          f"slowest {total['slowest_s']} s ({total['slowest_cpu_s']} s CPU); "
          f"{total['with_problems']} with "
          "problems reported")
    print_summary("loader_fuzz", total)
    return 1 if total["crashes"] or total["over_2s"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
