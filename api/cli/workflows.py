"""`portalflow workflows list|diff|publish|migrate`: the versions a database has published, what changed between
two, publishing the designers' folder explicitly (the service also publishes new versions when it starts), and
moving running enrollments onto a newer version (with a dry run first)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from api.cli.opening import open_flow, settings_for
from definitions.model import Actor
from engine.actors import ActorRef
from engine.enrollments.migration import MigrateWorkflow
from engine.errors import InvalidInput, NotFound


def list_versions(args: argparse.Namespace) -> int:
    with open_flow(args) as flow:
        found = flow.versions.listing()
    if not found:
        print("no workflow version is published yet (portalflow workflows publish, or start the service)")
        return 0
    print(f"{'workflow':<38} {'version':>7}  {'published (UTC)':<16}  {'by':<12} {'running':>7}  title")
    for v in found:
        mark = " (new enrollments)" if v.newest else ""
        print(f"{v.workflow_id:<38} {v.version:>7}  {v.published_at:%Y-%m-%d %H:%M}  {v.published_by or '?':<12} "
              f"{v.running:>7}  {v.title}{mark}")
    return 0


def diff_versions(args: argparse.Namespace) -> int:
    try:
        with open_flow(args) as flow:
            sections = flow.versions.diff(args.workflow, args.old, args.new)
    except NotFound as missing:
        print(f"error: {missing}", file=sys.stderr)
        return 2
    if not sections:
        print(f"{args.workflow}: versions {args.old} and {args.new} are the same")
        return 0
    print(f"{args.workflow}: version {args.old} -> {args.new}")
    for section in sections:
        print(f"{section.title}:")
        for line in section.lines:
            print(f"  {line}")
    return 0


def publish(args: argparse.Namespace) -> int:
    folder = Path(args.workflows) if args.workflows else settings_for(args).workflows_dir
    with open_flow(args) as flow:
        done = flow.versions.publish(folder, args.by)
    for workflow_id, version in done.versions:
        print(f"published {workflow_id} v{version}")
    for left_out in done.left_out:
        for problem in left_out.problems:
            print(problem)
    print(f"{len(done.versions)} version(s) published, {len(done.left_out)} file(s) left out")
    return 1 if done.left_out else 0


def migrate(args: argparse.Namespace) -> int:
    """Exit 0 when nothing is blocked, 1 when some enrollment is blocked (the rest moved), 2 for a bad command."""
    mapping: dict[str, str] = {}
    for pair in args.map or ():
        old, sep, new = pair.partition("=")
        if not sep or not old or not new:
            print(f"error: --map {pair!r}: write OLD=NEW (a state of the old version = one of the new)",
                  file=sys.stderr)
            return 2
        mapping[old] = new
    command = MigrateWorkflow(args.workflow, args.to, ActorRef(args.by, "designer", Actor.STAFF), mapping,
                              args.reason, args.dry_run, args.limit)
    try:
        with open_flow(args) as flow:
            report = flow.versions.migrate(command)
    except (NotFound, InvalidInput) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for o in report.outcomes:
        target = f" -> v{report.to_version} {o.to_state}" if o.to_state else ""
        print(f"{o.enrollment_id}  v{o.from_version} {o.from_state}{target}: {o.outcome}: {o.detail}")
    print(report.summary())
    return 1 if report.count("blocked") else 0
