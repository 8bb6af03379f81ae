"""The pages' own Jinja2 environment: HTML autoescaped, templates from `api/web/templates`, strict undefined (a
misspelt name in a page is an error in the tests, not a blank on a clerk's screen)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

HERE = Path(__file__).parent
STATIC = HERE / "static"


def local_time(moment: datetime | None, timezone: str | None = None) -> str:
    """'2026-03-02 09:00 EST (14:00 UTC)': the site's clock beside UTC; UTC alone when no site is known."""
    if moment is None:
        return ""
    utc = moment.astimezone(UTC)
    if not timezone:
        return f"{utc:%Y-%m-%d %H:%M} UTC"
    here = utc.astimezone(ZoneInfo(timezone))
    return f"{here:%Y-%m-%d %H:%M} {here.tzname()} ({utc:%H:%M} UTC)"


def about_a_step(reason: str) -> bool:
    """A refusal reason that a step's control on the page stands for ("step 'x' is not done: ...")."""
    return reason.startswith("step '") and "' is not done" in reason


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["local_time"] = local_time
    env.tests["about_a_step"] = about_a_step
    return env


templates = Jinja2Templates(env=_environment())
