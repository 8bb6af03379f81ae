"""`portalflow site workflows SITE [ID ...] [--every]`: which workflows a site uses; nothing starts for another."""

from __future__ import annotations

import argparse
import sys

from api.cli.imports import uses
from api.cli.opening import open_flow
from api.cli.users import CLI_ACTOR
from engine.errors import InvalidInput, NotFound


def workflows(args: argparse.Namespace) -> int:
    """Without ids, print what the site uses; with ids, the site uses those; with --every, every workflow."""
    try:
        with open_flow(args) as flow:
            if args.every or args.ids:
                chosen = None if args.every else list(dict.fromkeys(args.ids))
                site = flow.practice.update_site(CLI_ACTOR, args.site, {"workflows": chosen})
            else:
                site = flow.practice.read_site(args.site)
    except (InvalidInput, NotFound) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(uses(site))
    return 0
