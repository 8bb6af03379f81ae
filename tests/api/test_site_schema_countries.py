"""The countries a site may name for its holidays, listed without loading every country's holidays."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import holidays

from api.schemas.sites import COUNTRIES

ROOT = Path(__file__).resolve().parents[2]


def test_the_site_schema_offers_every_country_the_holidays_package_supports_aliases_included() -> None:
    assert sorted(holidays.list_supported_countries(include_aliases=True)) == COUNTRIES
    assert {"US", "GB", "UK", "USA", "GBR"} <= set(COUNTRIES)


def test_starting_the_app_loads_no_holidays_country_module() -> None:
    probe = ("import sys, api.app; "
             "print(sorted(m for m in sys.modules if m.startswith('holidays.countries.')))")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)

    assert loaded.stdout.strip() == "[]"
