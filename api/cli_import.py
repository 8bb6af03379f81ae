"""`portalflow import FILE`: onboard many patients and their guardians at once from a CSV file or a FHIR Bundle.

It prints one summary line and then each rejected row as "where: field: reason". Exit status: 0 when every row
was imported, 1 when some rows were rejected (the others were imported), 2 when the input could not be used at
all (no such file, not UTF-8, not JSON, a wrong CSV header, not a Bundle, an inactive user): nothing was written.

The actor is the staff user or integration named by `--actor` when one exists (its own role), else an integration
by that name (default "import"): every created patient's history says who brought it in.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from definitions.model import Actor
from engine.context import ActorRef
from engine.importing import ImportReport

if TYPE_CHECKING:
    from sqlalchemy import Connection

FORMATS = {".csv": "csv", ".json": "fhir"}
_ACTOR_LENGTH = 64  # audit_events.actor_id


class UnusableInput(Exception):
    """The file, or how it was asked for, cannot be imported at all; exit status 2."""


def add_import_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = sub.add_parser("import", help="import patients and guardians from a CSV file or a FHIR R4 Bundle")
    command.add_argument("file", help="a .csv file (header row naming the columns) or a .json FHIR Bundle")
    command.add_argument("--format", choices=("csv", "fhir"), help="default: by the file's extension")
    command.add_argument("--site", help="site of the rows that name none")
    command.add_argument("--actor", default="import", metavar="USER_ID",
                         help="the user id the history records (default: import)")
    command.add_argument("--database", "--database-url", dest="database_url", metavar="URL",
                         help="SQLAlchemy URL (default: PORTALFLOW_DATABASE_URL or sqlite:///var/portalflow.db)")
    command.set_defaults(run=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    from engine.errors import InvalidInput

    try:
        file_format = _format(Path(args.file), args.format)
        content = _read(Path(args.file), file_format)
        report = _import(args, file_format, content)
    except (UnusableInput, InvalidInput) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report.summary())
    for rejected in report.rejected:
        print(rejected)
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


def _import(args: argparse.Namespace, file_format: str, content: Any) -> ImportReport:
    from api.settings import Settings
    from engine.clock import SystemClock
    from engine.fhir_bundle import import_fhir_bundle
    from engine.patients_csv import import_csv
    from engine.storage.database import make_engine
    from engine.storage.migrations import upgrade

    db = make_engine(args.database_url or Settings.from_env().database_url)
    try:
        upgrade(db)  # a database never used yet gets its tables, as `audit verify` does
        with db.connect() as conn:
            actor = _actor(conn, args.actor)
            _check_site(conn, args.site)
        if file_format == "csv":
            return import_csv(db, SystemClock(), actor, content, site_id=args.site)
        if not isinstance(content, dict):
            raise UnusableInput(f"{args.file}: expected a FHIR Bundle (a JSON object)")
        return import_fhir_bundle(db, SystemClock(), actor, content, site_id=args.site)
    finally:
        db.dispose()


def _actor(conn: Connection, user_id: str) -> ActorRef:
    from engine.errors import NotFound
    from engine.identity import get_user

    if not 0 < len(user_id) <= _ACTOR_LENGTH or not user_id.isprintable():
        raise UnusableInput(f"--actor must be 1 to {_ACTOR_LENGTH} printable characters")
    try:
        user = get_user(conn, user_id)
    except NotFound:
        return ActorRef(user_id, "integration", Actor.INTEGRATION)
    if not user.active:
        raise UnusableInput(f"user '{user_id}' is not active")
    return user.actor


def _check_site(conn: Connection, site_id: str | None) -> None:
    from engine.errors import NotFound
    from engine.subjects import load_site

    if site_id is not None:
        try:
            load_site(conn, site_id)
        except NotFound as missing:
            raise UnusableInput(f"--site: {missing}") from None
