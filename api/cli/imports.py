"""`portalflow import FILE`: onboard many patients and their guardians at once from a CSV file or a FHIR Bundle.

It prints one summary line, each rejected row as "where: field: reason", and which workflows each site uses (an
import brings patients; the site decides what they can be enrolled in). Exit status: 0 when every row was
imported, 1 when some rows were rejected (the others were imported), 2 when the input could not be used at all
(no such file, not UTF-8, not JSON, a wrong CSV header, not a Bundle, an inactive user): nothing was written.

The actor is the staff user or integration named by `--actor` when one exists (its own role), else an integration
by that name (default "import"): every created patient's history says who brought it in.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from api.cli.opening import open_flow
from engine.errors import InvalidInput, NotFound
from engine.imports.batches import ImportReport
from engine.people.practice import SiteRecord

FORMATS = {".csv": "csv", ".json": "fhir"}


class UnusableInput(Exception):
    """The file, or how it was asked for, cannot be imported at all; exit status 2."""


def run_import(args: argparse.Namespace) -> int:
    try:
        file_format = _format(Path(args.file), args.format)
        content = _read(Path(args.file), file_format)
        report, report_sites = _import(args, file_format, content)
    except (UnusableInput, InvalidInput) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report.summary())
    for rejected in report.rejected:
        print(rejected)
    for line in report_sites:
        print(line)
    return 1 if report.rejected else 0


def _format(path: Path, chosen: str | None) -> str:
    if chosen:
        return chosen
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise UnusableInput(f"{path}: say --format csv or --format fhir (the extension is not .csv or .json)")
    return found


def _read(path: Path, file_format: str) -> Any:
    """The whole file, checked before the database is touched: a broken file writes nothing."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UnusableInput(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        raise UnusableInput(f"{path}: not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise UnusableInput(f"{path}: {error.strerror}") from None
    if file_format == "csv":
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UnusableInput(f"{path}:{error.lineno}:{error.colno}: not JSON: {error.msg}") from None


def _import(args: argparse.Namespace, file_format: str, content: Any) -> tuple[ImportReport, list[str]]:
    with open_flow(args) as flow:  # a database never used yet gets its tables, as `audit verify` does
        try:
            actor = flow.imports.importer(args.actor)
        except InvalidInput as problem:
            raise UnusableInput(f"--actor: {str(problem).removeprefix('actor: ')}") from None
        if args.site is not None:
            try:
                flow.imports.require_site(args.site)
            except NotFound as missing:
                raise UnusableInput(f"--site: {missing}") from None
        if file_format == "csv":
            report = flow.imports.csv(actor, content, site_id=args.site)
        elif isinstance(content, dict):
            report = flow.imports.fhir(actor, content, site_id=args.site)
        else:
            raise UnusableInput(f"{args.file}: expected a FHIR Bundle (a JSON object)")
        return report, [uses(site) for site in flow.practice.list_sites()]


def uses(site: SiteRecord) -> str:
    """What the site's patients can be enrolled in: an import brings patients, the site decides the workflows."""
    used = "every workflow" if site.workflows is None else ", ".join(site.workflows) or "no workflow"
    return f"site {site.id} uses: {used}"
