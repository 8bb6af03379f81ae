"""The benchmark's workflow: the cheapest transition the engine can run, so the numbers show the engine's own cost.

States a -> b -> c, triggered by staff, with no steps, no effects (so no PIN hashing, no rendering, no outbox row)
and no timers. The benchmark fires `to_b` once per enrollment. With `--guard`, the transition carries one cheap
guard (`email_on_file`: one SELECT of the patient row), to show what a typical guard adds.
"""

from __future__ import annotations

from pathlib import Path

WORKFLOW_ID = "bench-minimal"
TRIGGER = "to_b"

_TEXT = """\
id: bench-minimal
version: 1
title: Benchmark minimal procedure
source: handout.txt
subject: patient
initial: a
states:
  a:
    status: A
    description: Started.
  b:
    status: B
    description: Moved once.
  c:
    status: C
    description: Finished.
    final: true
transitions:
  - trigger: to_b
    from: a
    to: b
    by: staff
{guards}  - trigger: to_c
    from: b
    to: c
    by: staff
"""


def write_workflow_folder(folder: Path, *, guard: bool) -> Path:
    """A designers' room as the loader requires it: the workflow, a templates/ folder and the handout it cites."""
    (folder / "templates").mkdir(parents=True, exist_ok=True)
    (folder / "templates" / "unused.j2").write_text("{% block body %}Unused{% endblock %}\n", encoding="utf-8")
    (folder / "handout.txt").write_text("Benchmark handout.\n", encoding="utf-8")
    guards = "    guards:\n      - email_on_file\n" if guard else ""
    (folder / f"{WORKFLOW_ID}.yaml").write_text(_TEXT.format(guards=guards), encoding="utf-8")
    return folder
