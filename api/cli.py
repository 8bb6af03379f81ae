"""The `portalflow` command line: designer commands (validate, diagram, schema), `serve`, `worker`, users."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from api.cli_import import add_import_parser
from api.cli_users import add_user_parser
from definitions import (
    AuthoringError,
    DefinitionInvalid,
    Severity,
    check_paths,
    find_workflow,
    render_mermaid,
    workflow_schema,
)


def _workflows_dir() -> Path:
    return Path(os.environ.get("PORTALFLOW_WORKFLOWS", "workflows"))


def cmd_validate(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths] or [_workflows_dir()]
    results = check_paths(paths)
    if not results:
        print(f"no workflow files found in {', '.join(map(str, paths))}", file=sys.stderr)
        return 1
    from engine.rendering import check_templates

    errors = warnings = 0
    for result in results:
        for problem in result.outcome.problems:
            print(problem)
        errors += len(result.outcome.errors)
        warnings += len(result.outcome.warnings)
    # Templates are rendered by the engine's sandbox; a broken one is a validation error, not a 500 later.
    for folder in sorted({r.path.parent / "templates" for r in results if (r.path.parent / "templates").is_dir()}):
        for problem in check_templates(folder):
            print(problem)
            errors += problem.severity is Severity.ERROR
            warnings += problem.severity is Severity.WARNING
    verdict = "ok" if errors == 0 else "FAILED"
    print(f"{verdict}: {len(results)} workflow file(s) checked, {errors} error(s), {warnings} warning(s)")
    return 0 if errors == 0 else 1


def cmd_diagram(args: argparse.Namespace) -> int:
    folder = Path(args.workflows) if args.workflows else _workflows_dir()
    try:
        definition = find_workflow(args.workflow, folder)
    except DefinitionInvalid as exc:
        print(exc, file=sys.stderr)
        return 1
    except AuthoringError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(render_mermaid(definition))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from engine.simulation import run_scenario

    folder = Path(args.workflows) if args.workflows else _workflows_dir()
    failed = 0
    for scenario in args.scenarios:
        try:
            report = run_scenario(Path(scenario), folder)
        except DefinitionInvalid as exc:
            print(exc, file=sys.stderr)
            failed += 1
            continue
        print(f"== {scenario}")
        for line in report.timeline:
            print(line)
        if not report.ok:
            print(f"FAILED: {report.failure}")
            failed += 1
    return 1 if failed else 0


def cmd_schema(_: argparse.Namespace) -> int:
    print(json.dumps(workflow_schema(), indent=2))
    return 0


def _database_url(args: argparse.Namespace) -> str:
    from api.settings import Settings

    return str(args.database_url or Settings.from_env().database_url)


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from engine import audit
    from engine.storage.database import make_engine
    from engine.storage.migrations import upgrade

    db = make_engine(_database_url(args))
    try:
        upgrade(db)  # a database never used yet has an empty history, not a missing table
        with db.connect() as conn:
            report = audit.verify(conn)
    finally:
        db.dispose()
    if report.ok:
        print(f"ok: {report.events_checked} audit event(s) in {report.chains} chain(s) and "
              f"{report.anchors_checked} anchor(s) verified")
        return 0
    print(f"ALTERED: {report.first_problem}")
    return 1


def cmd_audit_anchor(args: argparse.Namespace) -> int:
    from engine import audit
    from engine.clock import SystemClock
    from engine.storage.database import make_engine

    db = make_engine(_database_url(args))
    try:
        with db.begin() as conn:
            anchor_id = audit.anchor(conn, SystemClock().now())
    finally:
        db.dispose()
    print(f"anchor {anchor_id} written")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if args.database_url:
        os.environ["PORTALFLOW_DATABASE_URL"] = args.database_url
    if args.workers <= 1:
        uvicorn.run("api.app:create_app", factory=True, host=args.host, port=args.port)
        return 0
    config = uvicorn.Config("api.app:create_app", factory=True, host=args.host, port=args.port, workers=args.workers)
    listener = config.bind_socket()
    # uvicorn makes its shared listener without naming IPPROTO_TCP, so asyncio in the workers leaves Nagle's
    # algorithm on for every connection, and each small answer waits ~40 ms for the client's delayed ACK (uvicorn
    # issue #3149; measured by bench/api_load.py). The same socket, said to be TCP, gets TCP_NODELAY as with 1 worker.
    sock = socket.socket(listener.family, socket.SOCK_STREAM, socket.IPPROTO_TCP, fileno=listener.detach())
    sock.set_inheritable(True)
    Multiprocess(config, sockets=[sock]).run()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Sweep timers and send messages without serving HTTP: `--once` runs one round and prints what it did."""
    import signal
    import threading

    from api.runtime import background_jobs, build_flow
    from api.settings import Settings
    from engine.background import one_round

    if args.database_url:
        os.environ["PORTALFLOW_DATABASE_URL"] = args.database_url
    settings = Settings.from_env()
    flow = build_flow(settings)
    try:
        if args.once:
            print(one_round(flow.sweeper, flow.delivery))
            return 0
        jobs = background_jobs(flow, settings)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        jobs.start()
        print(f"portalflow worker: a round every {settings.sweep_seconds:g} s; Ctrl-C stops", flush=True)
        stop.wait()
        jobs.shutdown()
        return 0
    finally:
        flow.db.dispose()


def cmd_calendar_set(args: argparse.Namespace) -> int:
    from api.calendar_file import CalendarFileError, read_calendar_file
    from engine.calendar_store import save_calendar
    from engine.errors import NotFound
    from engine.storage.database import make_engine
    from engine.storage.migrations import upgrade

    try:
        calendar = read_calendar_file(Path(args.file))
    except CalendarFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    db = make_engine(_database_url(args))
    try:
        upgrade(db)
        with db.begin() as conn:
            save_calendar(conn, args.site, calendar)
    except NotFound as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    print(f"calendar of site {args.site} saved")
    return 0


def cmd_calendar_next(args: argparse.Namespace) -> int:
    """When the site next opens after a moment (default now), and why: what a deferred send would say."""
    from datetime import UTC, datetime

    from engine.calendar_store import load_calendar
    from engine.errors import NotFound
    from engine.storage.database import make_engine

    try:
        at = datetime.fromisoformat(args.at) if args.at else datetime.now(UTC)
    except ValueError:
        print(f"error: --at {args.at!r} is not an ISO time such as 2026-11-26T03:00:00-05:00", file=sys.stderr)
        return 2
    if at.tzinfo is None:
        print("error: --at needs a UTC offset (e.g. ...T03:00:00-05:00 or ...Z)", file=sys.stderr)
        return 2
    db = make_engine(_database_url(args))
    try:
        with db.connect() as conn:
            print(load_calendar(conn, args.site).next_open(at).explain())
    except NotFound as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portalflow", description="Patient-portal enrollment orchestrator.")
    sub = parser.add_subparsers(dest="command", required=True)

    validate = sub.add_parser("validate", help="check workflow files; errors as path:line:col: message")
    validate.add_argument("paths", nargs="*", help="workflow files or folders (default: workflows/)")
    validate.set_defaults(run=cmd_validate)

    diagram = sub.add_parser("diagram", help="print a workflow as a Mermaid stateDiagram-v2")
    diagram.add_argument("workflow", help="a workflow id or a path to its file")
    diagram.add_argument("--workflows", help="folder to look ids up in (default: workflows/)")
    diagram.set_defaults(run=cmd_diagram)

    simulate = sub.add_parser("simulate", help="run scenarios on the real engine with a fake clock")
    simulate.add_argument("scenarios", nargs="+", help="scenario files (workflows/scenarios/*.yaml)")
    simulate.add_argument("--workflows", help="workflows folder (default: workflows/)")
    simulate.set_defaults(run=cmd_simulate)

    schema = sub.add_parser("schema", help="print the JSON Schema of the workflow format")
    schema.set_defaults(run=cmd_schema)

    audit_cmd = sub.add_parser("audit", help="the audit trail: verify the hash chains, write an anchor")
    audit_sub = audit_cmd.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="recompute every chain and anchor; name the first altered row")
    verify.add_argument("--database-url", help="SQLAlchemy URL (default: PORTALFLOW_DATABASE_URL or var/)")
    verify.set_defaults(run=cmd_audit_verify)
    anchor = audit_sub.add_parser("anchor", help="bind the heads of all chains in a new anchor row")
    anchor.add_argument("--database-url", help="SQLAlchemy URL (default: PORTALFLOW_DATABASE_URL or var/)")
    anchor.set_defaults(run=cmd_audit_anchor)

    serve = sub.add_parser("serve", help="start the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--database-url", help="SQLAlchemy URL (default: embedded SQLite in var/)")
    serve.set_defaults(run=cmd_serve)
    calendar = sub.add_parser("calendar", help="a site's opening hours, holidays and closures")
    calendar_sub = calendar.add_subparsers(dest="calendar_command", required=True)
    calendar_set = calendar_sub.add_parser("set", help="replace a site's calendar from a YAML file")
    calendar_set.add_argument("site")
    calendar_set.add_argument("file")
    calendar_set.add_argument("--database-url", help="SQLAlchemy URL (default: embedded SQLite in var/)")
    calendar_set.set_defaults(run=cmd_calendar_set)
    calendar_next = calendar_sub.add_parser("next", help="when the site next opens, and why")
    calendar_next.add_argument("site")
    calendar_next.add_argument("--at", help="ISO time with offset (default: now)")
    calendar_next.add_argument("--database-url", help="SQLAlchemy URL (default: embedded SQLite in var/)")
    calendar_next.set_defaults(run=cmd_calendar_next)
    worker = sub.add_parser("worker", help="fire due timers and send queued messages (no HTTP)")
    worker.add_argument("--once", action="store_true", help="one round, print what it did, exit")
    worker.add_argument("--database-url", help="SQLAlchemy URL (default: embedded SQLite in var/)")
    worker.set_defaults(run=cmd_worker)
    add_user_parser(sub)
    add_import_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
