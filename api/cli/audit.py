"""`portalflow audit verify|anchor`: recompute the hash chains and anchors, or bind the heads in a new anchor."""

from __future__ import annotations

import argparse

from api.cli.opening import open_flow


def verify(args: argparse.Namespace) -> int:
    with open_flow(args) as flow:  # a database never used yet has an empty history, not a missing table
        report = flow.histories.verify()
    if report.ok:
        print(f"ok: {report.events_checked} audit event(s) in {report.chains} chain(s) and "
              f"{report.anchors_checked} anchor(s) verified")
        return 0
    print(f"ALTERED: {report.first_problem}")
    return 1


def anchor(args: argparse.Namespace) -> int:
    with open_flow(args) as flow:
        anchor_id = flow.histories.anchor()
    print(f"anchor {anchor_id} written")
    return 0
