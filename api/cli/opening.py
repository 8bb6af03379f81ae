"""The one place the command line opens the database: the settings (or `--database-url`) name it, the engine's
front door is built on it (its schema brought up to date), and it is closed when the command ends.

Only `serve` and `db upgrade` (and `restore`) make a new SQLite file: any other command finding none refuses,
naming the path, instead of working on a new empty database and answering "nothing to do".
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from api.runtime import build_flow
from api.settings import HOME_VARIABLE, Settings, resolve_database_url
from engine.front_door.flow import PortalFlow
from engine.front_door.maintenance import SchemaBehind


def settings_for(args: argparse.Namespace) -> Settings:
    """The settings, with `--database-url` instead of PORTALFLOW_DATABASE_URL when given (a relative SQLite path
    in an argument is in the working folder, as any file argument is)."""
    settings = Settings.from_env()
    url = getattr(args, "database_url", None)
    if not url:
        return settings
    return dataclasses.replace(settings, database_url=resolve_database_url(url, Path.cwd()))


def require_database(settings: Settings) -> None:
    """Stop when the SQLite file the settings name does not exist (PostgreSQL is checked by connecting)."""
    path = settings.sqlite_path()
    if path is not None and not path.is_file():
        raise SystemExit(
            f"error: no database at {path}. Run this from the folder PortalFlow is installed in, or set "
            f"{HOME_VARIABLE} (now {settings.home}) or PORTALFLOW_DATABASE_URL, or pass --database-url; "
            "`portalflow serve` or `portalflow db upgrade` makes a new one.")


@contextmanager
def open_flow(args: argparse.Namespace, *, workflows: bool = False) -> Iterator[PortalFlow]:
    """The front door on the command's database, running its published workflow versions; `workflows=True`
    also publishes the folder's new versions first, as the service does when it starts."""
    settings = settings_for(args)
    require_database(settings)
    try:
        flow = build_flow(settings, workflows=workflows)
    except SchemaBehind as behind:  # PORTALFLOW_MIGRATE=0 and an older schema: say what to run
        raise SystemExit(f"error: {behind}") from None
    try:
        yield flow
    finally:
        flow.close()
