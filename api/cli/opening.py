"""The one place the command line opens the database: the settings (or `--database-url`) name it, the engine's
front door is built on it (its schema brought up to date), and it is closed when the command ends."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

from api.runtime import build_flow
from api.settings import Settings
from engine.front_door.flow import PortalFlow


def settings_for(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    url = getattr(args, "database_url", None)
    return dataclasses.replace(settings, database_url=url) if url else settings


@contextmanager
def open_flow(args: argparse.Namespace, *, workflows: bool = False) -> Iterator[PortalFlow]:
    """The front door on the command's database, running its published workflow versions; `workflows=True`
    also publishes the folder's new versions first, as the service does when it starts."""
    flow = build_flow(settings_for(args), workflows=workflows)
    try:
        yield flow
    finally:
        flow.close()
