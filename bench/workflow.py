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


EXPIRY_WORKFLOW_ID = "bench-pin-expiry"
EXPIRY_STATE, EXPIRED_STATE, EXPIRY_TIMER = "issued", "expired", "expire"

# The sweep benchmark's workflow: a PIN issued, expiring 30 days later through a timer fired by the system.
_EXPIRY_TEXT = """\
id: bench-pin-expiry
version: 1
title: Benchmark PIN expiry
source: handout.txt
subject: patient
initial: issued
states:
  issued:
    status: Pending Registration
    description: A PIN was issued.
  expired:
    status: PIN Expired
    description: The PIN expired unused.
    final: true
transitions:
  - trigger: expire
    from: issued
    to: expired
    by: system
timers:
  expire:
    in: issued
    after: 30d
    fire: expire
    late: fire
    description: The PIN expires 30 days after it was issued.
"""


def write_workflow_folder(folder: Path, *, guard: bool) -> Path:
    """A designers' room as the loader requires it: the workflow, a templates/ folder and the handout it cites."""
    guards = "    guards:\n      - email_on_file\n" if guard else ""
    return _room(folder, WORKFLOW_ID, _TEXT.format(guards=guards))


def write_expiry_workflow_folder(folder: Path) -> Path:
    return _room(folder, EXPIRY_WORKFLOW_ID, _EXPIRY_TEXT)


def _room(folder: Path, workflow_id: str, text: str) -> Path:
    (folder / "templates").mkdir(parents=True, exist_ok=True)
    (folder / "templates" / "unused.j2").write_text("{% block body %}Unused{% endblock %}\n", encoding="utf-8")
    (folder / "handout.txt").write_text("Benchmark handout.\n", encoding="utf-8")
    (folder / f"{workflow_id}.yaml").write_text(text, encoding="utf-8")
    return folder
