"""`portalflow calendar set|next`: replace a site's calendar from a YAML file; say when the site next opens."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from api.calendar_file import CalendarFileError, read_calendar_file
from api.cli.opening import open_flow
from api.cli.users import CLI_ACTOR
from engine.errors import NotFound


def set_calendar(args: argparse.Namespace) -> int:
    try:
        calendar = read_calendar_file(Path(args.file))
    except CalendarFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        with open_flow(args) as flow:
            flow.practice.replace_calendar(CLI_ACTOR, args.site, calendar)
    except NotFound as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"calendar of site {args.site} saved")
    return 0


def next_opening(args: argparse.Namespace) -> int:
    """When the site next opens after a moment (default now), and why: what a deferred send would say."""
    try:
        at = datetime.fromisoformat(args.at) if args.at else datetime.now(UTC)
    except ValueError:
        print(f"error: --at {args.at!r} is not an ISO time such as 2026-11-26T03:00:00-05:00", file=sys.stderr)
        return 2
    if at.tzinfo is None:
        print("error: --at needs a UTC offset (e.g. ...T03:00:00-05:00 or ...Z)", file=sys.stderr)
        return 2
    try:
        with open_flow(args) as flow:
            print(flow.practice.next_opening(args.site, at).explain())
    except NotFound as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
