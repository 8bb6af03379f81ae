"""`portalflow preview MESSAGE --site S [--patient P | --household H]`: a workflow's message as it would be written
now, with the site's real fields, a real or sample patient, and placeholders for its PIN or link; or the reason
the engine would hold it. Exit 0 when it would be sent, 1 when it would be held, 2 on bad input."""

from __future__ import annotations

import argparse
import sys

from api.cli.opening import open_flow
from engine.actors import EVERY_SITE
from engine.errors import InvalidInput, NotFound
from engine.views.preview import PreviewMessage


def preview(args: argparse.Namespace) -> int:
    query = PreviewMessage(args.message, args.site, args.workflow, args.version, args.patient, args.household)
    try:
        with open_flow(args) as flow:
            shown = flow.preview(query, viewer=EVERY_SITE)  # a command on the host: every site
    except (InvalidInput, NotFound) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    to = shown.recipient or ("a sample person" if shown.sample_person else shown.channel)
    print(f"{shown.workflow_id} v{shown.version}, message {shown.message_id} ({shown.channel}, template "
          f"{shown.template}.j2) to {to}")
    if not shown.site_uses_workflow:
        print(f"note: site '{args.site}' does not use {shown.workflow_id}: no enrollment starts for it there")
    if shown.held is not None:
        print(shown.held)
        return 1
    if shown.subject is not None:
        print(f"Subject: {shown.subject}")
    print()
    print(shown.body)
    if shown.html is not None:
        print("\n--- HTML alternative ---")
        print(shown.html)
    return 0
