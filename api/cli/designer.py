"""Designer commands: validate workflow files, draw one as a diagram, simulate scenarios, print the schema."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from api.environment import default_home, read_environment
from definitions import (
    AuthoringError,
    DefinitionInvalid,
    Severity,
    check_paths,
    find_workflow,
    render_mermaid,
    workflow_schema,
)
from engine.messaging.template_checks import check_templates


def _workflows_dir() -> Path:
    """PORTALFLOW_WORKFLOWS inside PORTALFLOW_HOME, as the service finds it, whatever the working folder."""
    home = default_home()
    return home / read_environment(home).workflows


def validate(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths] or [_workflows_dir()]
    results = check_paths(paths)
    if not results:
        print(f"no workflow files found in {', '.join(map(str, paths))}", file=sys.stderr)
        return 1
    errors = warnings = acknowledged = 0
    for result in results:
        for problem in result.outcome.problems:
            print(problem)
        errors += len(result.outcome.errors)
        warnings += len(result.outcome.warnings)
        acknowledged += len(result.outcome.acknowledged)
    if args.database_url:  # a file that changes a version already published there would be left out by the service
        # Loaded here: plain validation needs no database and must not pay for one.
        from api.cli.opening import open_flow

        with open_flow(args) as flow:
            for problem in flow.versions.changed_published(results):
                print(problem)
                errors += 1
    # Templates are rendered by the engine's sandbox; a broken one is a validation error, not a 500 later.
    for folder in sorted({r.path.parent / "templates" for r in results if (r.path.parent / "templates").is_dir()}):
        for problem in check_templates(folder):
            print(problem)
            errors += problem.severity is Severity.ERROR
            warnings += problem.severity is Severity.WARNING
    verdict = "ok" if errors == 0 else "FAILED"
    accepted = f", {acknowledged} acknowledged" if acknowledged else ""
    print(f"{verdict}: {len(results)} workflow file(s) checked, {errors} error(s), {warnings} warning(s){accepted}")
    return 0 if errors == 0 else 1


def diagram(args: argparse.Namespace) -> int:
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


def simulate(args: argparse.Namespace) -> int:
    # The simulator runs the whole engine on a throwaway database: loaded only when asked for.
    from engine.designer.simulation import run_scenario

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


def schema(_: argparse.Namespace) -> int:
    print(json.dumps(workflow_schema(), indent=2))
    return 0
