"""An operator sets a site's calendar from a YAML file and asks when it next opens, in words."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import insert

from api.cli import main
from engine.storage.database import make_engine
from engine.storage.migrations import upgrade
from engine.storage.tables import sites

CALENDAR = """\
zone: America/New_York
country: US
subdivision: NY
hours:
  mon: ["08:00-17:00"]
  tue: ["08:00-17:00"]
  wed: ["08:00-17:00"]
  thu: ["08:00-17:00"]
  fri: ["08:00-17:00"]
closures:
  2026-11-27: Staff training
"""


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'pf.db'}"
    db = make_engine(url)
    upgrade(db)
    with db.begin() as conn:
        conn.execute(insert(sites).values(id="main", name="Main", timezone="UTC",
                                          portal_url="https://portal.example.test", phone="(617) 555-0100",
                                          specialist_office=False))
    db.dispose()
    return url


def test_a_calendar_file_is_saved_and_the_next_opening_is_explained(
        database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cal.yaml").write_text(CALENDAR, encoding="utf-8")
    assert main(["calendar", "set", "main", str(tmp_path / "cal.yaml"), "--database-url", database]) == 0
    assert main(["calendar", "next", "main", "--at", "2026-11-26T03:00:00-05:00", "--database-url", database]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "calendar of site main saved"
    assert out[1] == ("Mon 30 Nov 08:00 America/New_York: Thu 26 Nov is Thanksgiving Day; "
                      "Fri 27 Nov closed: Staff training; Sat 28 Nov, Sun 29 Nov closed; "
                      "Mon 30 Nov before opening at 08:00")


@pytest.mark.parametrize(("text", "problem"), [
    ("zone: America/Nowhere\n", "unknown time zone 'America/Nowhere'"),
    ("zone: UTC\nhours:\n  mon: [\"17:00-08:00\"]\n", "closes before it opens"),
    ("zone: UTC\nhours:\n  funday: [\"08:00-17:00\"]\n", "unknown weekday 'funday'"),
    ("zone: UTC\nopen: always\n", "unknown key(s) open"),
    ("country: US\n", "'zone' is required"),
])
def test_a_bad_calendar_file_is_refused_naming_the_mistake_and_nothing_is_saved(
        database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, problem: str) -> None:
    (tmp_path / "cal.yaml").write_text(text, encoding="utf-8")
    assert main(["calendar", "set", "main", str(tmp_path / "cal.yaml"), "--database-url", database]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "cal.yaml") in err
    assert problem in err
    assert main(["calendar", "next", "main", "--at", "2026-11-26T03:00:00Z", "--database-url", database]) == 0
    assert capsys.readouterr().out.startswith("open now")  # still the default: open around the clock
