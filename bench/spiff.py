"""`python -m bench --spiff`: PortalFlow's durable advance beside a SpiffWorkflow 3.2 step saved to JSON.

The peer (bench/peers/spiff: its README, BPMN and benchmark, copied from the peer study so the repository needs
nothing outside itself) runs in a virtual environment of its own, made once under var/peers/ with
SpiffWorkflow==3.2.0 and kept (`make clean` removes it). Its driver stays up for the whole run and times one
"step persisted" run each time it is asked, so its runs alternate with PortalFlow's passes in one sitting.
Units: one Spiff step is one user task completed with its JSON loaded before and saved after (no database,
no fsync); one PortalFlow advance is one transition committed to SQLite with synchronous=FULL (fsync on the disk).
The issue's target: durable advance >= 2x a Spiff step persisted.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from bench.places import ROOT
from bench.rounds import PlaceRuns

TARGET = 2.0
VERSION = "3.2.0"
PEER = ROOT / "bench" / "peers" / "spiff"
VENV = ROOT / "var" / "peers" / f"spiffworkflow-{VERSION}"


def ensure_venv() -> Path:
    """The peer's interpreter, making its environment the first time (a minute or so; needs the package index)."""
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    if python.exists() and marker.exists():
        return python
    print(f"making the peer's environment in {VENV} (once): SpiffWorkflow=={VERSION}", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        f"SpiffWorkflow=={VERSION}"], check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        raise SystemExit(f"could not make the peer's environment in {VENV} ({error}); run without --spiff") from error
    marker.write_text(f"SpiffWorkflow=={VERSION}\n", encoding="utf-8")
    return python


@dataclass
class SpiffPeer:
    """The peer's driver, up for the whole run: `run()` times one run of `instances` (three steps each)."""

    instances: int
    rates: list[float] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    _process: subprocess.Popen[str] | None = None

    def __enter__(self) -> SpiffPeer:
        self._process = subprocess.Popen([str(ensure_venv()), str(PEER / "steps.py")], cwd=PEER, text=True,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.versions = self._answer()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._process is not None:
            stdin: IO[str] | None = self._process.stdin
            if stdin is not None:
                stdin.close()  # EOF ends the driver
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def _pipes(self) -> tuple[subprocess.Popen[str], IO[str], IO[str]]:
        process = self._process
        if process is None or process.stdin is None or process.stdout is None:
            raise RuntimeError("the SpiffWorkflow driver is not running: use SpiffPeer in a with statement")
        return process, process.stdin, process.stdout

    def _answer(self) -> dict[str, Any]:
        process, _stdin, stdout = self._pipes()
        line = stdout.readline()
        if not line:
            raise SystemExit(f"the SpiffWorkflow driver stopped (exit {process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def run(self) -> None:
        _process, stdin, _stdout = self._pipes()
        stdin.write(f"{self.instances}\n")
        stdin.flush()
        answer = self._answer()
        self.rates.append(float(answer["rate"]))
        print(f"  {'spiff step':<15} {answer['rate']:8.0f} steps/s    ({answer['steps']} steps persisted to JSON, "
              f"SpiffWorkflow {self.versions.get('spiffworkflow')}, no database)", flush=True)


def report(peer: SpiffPeer, places: list[PlaceRuns]) -> dict[str, object]:
    """Durable advance against Spiff step persisted, per place: median/median (the peer reports medians) and
    best/best; printed, and returned for the summary line."""
    spiff_median, spiff_best = statistics.median(peer.rates), max(peer.rates)
    print(f"\nSpiffWorkflow {peer.versions.get('spiffworkflow')} (lxml {peer.versions.get('lxml')}, Python "
          f"{peer.versions.get('python')}), step persisted: median {spiff_median:.0f}/s, best {spiff_best:.0f}/s "
          f"over {len(peer.rates)} runs alternating with PortalFlow's")
    figures: dict[str, object] = {"spiff_version": peer.versions.get("spiffworkflow"),
                                  "step_persisted_per_s": spiff_median, "step_persisted_best_per_s": spiff_best,
                                  "runs": len(peer.rates), "target": TARGET}
    for runs in places:
        ratio = runs.median("engine") / spiff_median
        best = runs.best("engine") / spiff_best
        print(f"  durable advance / Spiff step persisted, {runs.place.label} ({runs.place.filesystem}): "
              f"median {ratio:.2f}x ({runs.median('engine'):.0f} vs {spiff_median:.0f}/s), best {best:.2f}x "
              f"(target >= {TARGET}x: {'met' if ratio >= TARGET else 'NOT met'})")
        figures[f"ratio_{runs.place.label}"] = ratio
        figures[f"ratio_{runs.place.label}_best"] = best
    return figures
