"""`portalflow import FILE`: onboard many patients and their guardians at once from a CSV file or a FHIR Bundle.

While it runs, a progress bar on stderr shows the rows judged of the file's rows and the rate (tqdm); it stays
silent when stderr is not a terminal, or with `--quiet`. Then it prints one summary line, the rows created (as
line spans), each patient updated with the fields that changed, the rows left unchanged, each rejected row as
"file, where: field: reason", how to correct the patients who already exist when some rows named them, and which
workflows each site uses (an import brings patients; the site decides what they can be enrolled in).

`--dry-run` checks every row exactly as the import would, in a transaction that is rolled back, and prints the
same report: nothing is written. `--update` corrects the patients who exist (matched by patient id) instead of
rejecting their rows, through the correction path staff use, each change on the patient's history with the
import's actor and the file and row it came from.

Exit status: 0 when every row was imported (or would be), 1 when some rows were rejected (the others were
imported), 2 when the input could not be used at all (no such file, not UTF-8, not JSON, a wrong CSV header, a
line that is not CSV, not a Bundle, an inactive user): nothing was written.

The actor is the staff user or integration named by `--actor` when one exists (its own role), else an integration
by that name (default "import"): every created patient's history says who brought it in.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from api.cli.opening import open_flow
from engine.errors import InvalidInput, NotFound
from engine.imports.batches import ImportOptions
from engine.imports.report import ImportReport
from engine.people.practice import SiteRecord

FORMATS = {".csv": "csv", ".json": "fhir"}


class UnusableInput(Exception):
    """The file, or how it was asked for, cannot be imported at all; exit status 2."""


class ProgressBar:
    """The rows judged so far, of the file's rows, and the rate, on stderr; silent when `quiet` or when stderr is
    not a terminal (a log file or a cron mail gets the summary alone)."""

    def __init__(self, label: str, *, quiet: bool) -> None:
        self.label, self.quiet = label, quiet or not sys.stderr.isatty()
        self._bar: tqdm[Any] | None = None

    def begin(self, total: int | None) -> None:
        # A terminal that tells no size (0 x 0) would hide the bar: draw it 80 wide there.
        sized = not self.quiet and _sized()
        self._bar = tqdm(total=total, desc=self.label, unit=" rows", file=sys.stderr, disable=self.quiet,
                         mininterval=0.5, dynamic_ncols=sized, ncols=None if sized else 80,
                         nrows=None if sized else 24)

    def advance(self) -> None:
        if self._bar is not None:
            self._bar.update()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _sized() -> bool:
    """Whether the terminal on stderr tells its size."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except OSError:
        return False
    return size.columns > 0 and size.lines > 0


def run_import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    bar = ProgressBar("checking" if args.dry_run else "importing", quiet=args.quiet)
    try:
        file_format = _format(path, args.format)
        content = _read(path, file_format)
        report, report_sites = _import(args, file_format, content, bar)
    except UnusableInput as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except InvalidInput as error:  # the file's header, a line that is not CSV, not a Bundle
        print(f"error: {path}: {error}", file=sys.stderr)
        return 2
    finally:
        bar.close()
    print(report.summary())
    for line in report.details(file=str(path)):
        print(line)
    if report.existing:
        print(f"{report.existing} row(s) name a patient who already exists, and nothing of them was written: to "
              "correct those patients from this file, import it again with --update (see first with --dry-run)")
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


def _import(args: argparse.Namespace, file_format: str, content: Any,
            bar: ProgressBar) -> tuple[ImportReport, list[str]]:
    options = ImportOptions(dry_run=args.dry_run, update=args.update, source=f"import of {Path(args.file).name}")
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
            report = flow.imports.csv(actor, content, site_id=args.site, options=options, progress=bar)
        elif isinstance(content, dict):
            report = flow.imports.fhir(actor, content, site_id=args.site, options=options, progress=bar)
        else:
            raise UnusableInput(f"{args.file}: expected a FHIR Bundle (a JSON object)")
        return report, [uses(site) for site in flow.practice.list_sites()]


def uses(site: SiteRecord) -> str:
    """What the site's patients can be enrolled in: an import brings patients, the site decides the workflows."""
    used = "every workflow" if site.workflows is None else ", ".join(site.workflows) or "no workflow"
    return f"site {site.id} uses: {used}"
