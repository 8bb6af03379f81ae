"""Issue 15, item 14: every walled read names whose read it is, or it does not type-check.

Sites are walls (engine.people.walls): a read that forgot its viewer used to default to every site, so a new route
that forgot it would show a walled user everything. Now the viewer (in the front door) and the sites (in the views
and searches under it) have no default: mypy, run by `make test` on the tree, rejects the call. A module calling each
walled read both ways is checked here with the project's own mypy settings: an error on every call that leaves the
viewer out, naming it, and none on the calls that give one (`EVERY_SITE` for a read meant to see every site).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# (each call, with `{}` where its viewer goes, and the argument that names it)
FRONT_DOOR = [
    ('flow.people.read_patient("p-jane"{})', "viewer=EVERY_SITE"),
    ("flow.people.find_patients(family_name=\"doe\"{})", "viewer=EVERY_SITE"),
    ('flow.people.read_household("h-lee"{})', "viewer=EVERY_SITE"),
    ('flow.people.read_households(["h-lee"]{})', "viewer=EVERY_SITE"),
    ("flow.people.list_households(limit=5{})", "viewer=EVERY_SITE"),
    ('flow.find_enrollments(patient_id="p-jane"{})', "viewer=EVERY_SITE"),
    ('flow.preview(PreviewMessage("manual_invite", "main"){})', "viewer=EVERY_SITE"),
    ("flow.worklists.pins_expiring(7{})", "viewer=EVERY_SITE"),
    ('flow.worklists.invites_waiting(site_id="main"{})', "viewer=EVERY_SITE"),
    ("flow.worklists.households_part_registered(limit=5{})", "viewer=EVERY_SITE"),
    ("flow.worklists.messages_failed(within_days=7{})", "viewer=EVERY_SITE"),
    ('flow.histories.find(HistoryQuery(patient_id="p-jane"){})', "viewer=EVERY_SITE"),
    ('flow.histories.export(HistoryQuery(), "csv"{})', "viewer=EVERY_SITE"),
]
UNDER_IT = [
    ("worklists.pins_expiring(conn, NOW, catalog, 7{})", "sites=None"),
    ("invites_waiting(conn, NOW, catalog, window_days=30{})", "sites=None"),
    ("worklists.households_part_registered(conn, NOW, catalog, limit=5{})", "sites=None"),
    ("worklists.messages_failed(conn, NOW, within_days=7{})", "sites=None"),
    ('find_enrollments(conn, catalog, patient_id="p-jane"{})', "sites=None"),
    ('finding.find_patients(conn, family_name="doe"{})', "sites=None"),
    ("finding.list_households(conn, limit=5{})", "sites=None"),
]
HEAD = """from datetime import UTC, datetime

from sqlalchemy import Connection

from engine.actors import EVERY_SITE
from engine.audit.reading import HistoryQuery
from engine.front_door.flow import PortalFlow
from engine.people import finding
from engine.versions.catalog import WorkflowCatalog
from engine.views import worklists
from engine.views.invites_waiting import invites_waiting
from engine.views.people import find_enrollments
from engine.views.preview import PreviewMessage

NOW = datetime(2026, 3, 2, tzinfo=UTC)


def reads(flow: PortalFlow, conn: Connection, catalog: WorkflowCatalog) -> None:
"""


def _probe(tmp_path: Path) -> tuple[Path, dict[int, str], set[int]]:
    """The module, the lines that leave the viewer out (with its name), and the lines that give it."""
    lines = HEAD.splitlines()
    forgets: dict[int, str] = {}
    gives: set[int] = set()
    for call, argument in FRONT_DOOR + UNDER_IT:
        lines.append("    " + call.format(""))
        forgets[len(lines)] = argument.split("=")[0]
        lines.append("    " + call.format(", " + argument))
        gives.add(len(lines))
    probe = tmp_path / "walled_reads_probe.py"
    probe.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return probe, forgets, gives


def test_a_walled_read_that_leaves_out_its_viewer_does_not_type_check(tmp_path: Path) -> None:
    probe, forgets, gives = _probe(tmp_path)
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir",
         str(tmp_path / "cache"), "--no-error-summary", str(probe)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    errors: dict[int, str] = {}
    for line in checked.stdout.splitlines():
        found = re.match(rf"{re.escape(str(probe))}:(\d+): error: (.*)", line)
        if found:
            errors[int(found[1])] = found[2]
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert set(errors) == set(forgets), checked.stdout
    for number, name in forgets.items():
        assert f'Missing named argument "{name}"' in errors[number], errors[number]
    assert not gives & set(errors)
