"""The `portalflow` command line: designer commands, the service, users, imports, calendars and the audit trail.

Each command lives in the module of its area and is loaded only when run, so `portalflow validate` does not pay
for the database and web stack. Commands that touch the database open it in one place
(`api.cli.opening.open_flow`), call one front-door method and print the answer.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import PackageNotFoundError, version

DATABASE_HELP = ("SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db or sqlite:///path.db (default: "
                 "PORTALFLOW_DATABASE_URL, else sqlite:///var/portalflow.db inside PORTALFLOW_HOME)")
ROLES = ("staff", "designer", "auditor", "admin", "integration")


def _command(module: str, function: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        # Loaded here, not at the top: only the command being run brings in what it needs.
        code: int = getattr(importlib.import_module(f"api.cli.{module}"), function)(args)
        return code
    return run


def _database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", "--database", dest="database_url", metavar="URL", help=DATABASE_HELP)


def _designer(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    validate = sub.add_parser("validate", help="check workflow files; errors as path:line:col: message")
    validate.add_argument("paths", nargs="*", help="workflow files or folders (default: workflows/)")
    validate.add_argument("--database-url", "--database", dest="database_url", metavar="URL",
                          help="also compare each file with the versions this database has published")
    validate.set_defaults(run=_command("designer", "validate"))
    diagram = sub.add_parser("diagram", help="print a workflow as a Mermaid stateDiagram-v2")
    diagram.add_argument("workflow", help="a workflow id or a path to its file")
    diagram.add_argument("--workflows", help="folder to look ids up in (default: workflows/)")
    diagram.set_defaults(run=_command("designer", "diagram"))
    simulate = sub.add_parser("simulate", help="run scenarios on the real engine with a fake clock")
    simulate.add_argument("scenarios", nargs="+", help="scenario files (workflows/scenarios/*.yaml)")
    simulate.add_argument("--workflows", help="workflows folder (default: workflows/)")
    simulate.set_defaults(run=_command("designer", "simulate"))
    schema = sub.add_parser("schema", help="print the JSON Schema of the workflow format")
    schema.set_defaults(run=_command("designer", "schema"))
    preview = sub.add_parser("preview", help="show a message as it would be written now, or why it would be held")
    preview.add_argument("message", help="the message id, e.g. manual_invite")
    preview.add_argument("--site", required=True, help="the site whose name, phone and portal address it prints")
    preview.add_argument("--workflow", help="the workflow id (needed when several have a message of that id)")
    preview.add_argument("--version", type=int, help="a published version (default: the newest)")
    person = preview.add_mutually_exclusive_group()
    person.add_argument("--patient", metavar="ID", help="a real patient (default: a sample one)")
    person.add_argument("--household", metavar="ID", help="a real household, for a household's workflow")
    preview.set_defaults(run=_command("preview", "preview"))


def _service(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="start the HTTP service (makes the SQLite database when there is none)")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="the TCP port")
    serve.add_argument("--workers", type=int, default=1, help="HTTP processes, each with the background job")
    serve.set_defaults(run=_command("service", "serve"))
    worker = sub.add_parser("worker", help="fire due timers and send queued messages (no HTTP)")
    worker.add_argument("--once", action="store_true", help="one round, print what it did, exit")
    worker.set_defaults(run=_command("service", "worker"))


def _records(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser("audit", help="the audit trail: verify the hash chains, write an anchor")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="recompute every chain and anchor; name the first altered row")
    verify.set_defaults(run=_command("audit", "verify"))
    anchor = audit_sub.add_parser("anchor", help="bind the heads of all chains in a new anchor row")
    anchor.set_defaults(run=_command("audit", "anchor"))
    calendar = sub.add_parser("calendar", help="a site's opening hours, holidays and closures")
    calendar_sub = calendar.add_subparsers(dest="calendar_command", required=True)
    calendar_set = calendar_sub.add_parser("set", help="replace a site's calendar from a YAML file")
    calendar_set.add_argument("site", help="the site id")
    calendar_set.add_argument("file", help="the calendar YAML file (zone, hours, holidays, closures)")
    calendar_set.set_defaults(run=_command("calendar", "set_calendar"))
    calendar_next = calendar_sub.add_parser("next", help="when the site next opens, and why")
    calendar_next.add_argument("site", help="the site id")
    calendar_next.add_argument("--at", help="ISO time with offset (default: now)")
    calendar_next.set_defaults(run=_command("calendar", "next_opening"))
    site = sub.add_parser("site", help="a site's workflows")
    site_sub = site.add_subparsers(dest="site_command", required=True)
    site_workflows = site_sub.add_parser("workflows", help="which workflows a site uses (nothing starts for another)")
    site_workflows.add_argument("site", help="the site id")
    site_workflows.add_argument("ids", nargs="*", metavar="WORKFLOW_ID", help="the site uses exactly these")
    site_workflows.add_argument("--every", action="store_true", help="the site uses every published workflow")
    site_workflows.set_defaults(run=_command("sites", "workflows"))


def _workflows(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    workflows = sub.add_parser("workflows", help="published workflow versions: list, compare, publish, migrate")
    workflows_sub = workflows.add_subparsers(dest="workflows_command", required=True)
    listing = workflows_sub.add_parser("list", help="every published version: when, by whom, enrollments running")
    listing.set_defaults(run=_command("workflows", "list_versions"))
    diff = workflows_sub.add_parser("diff", help="what changed between two published versions of a workflow")
    diff.add_argument("workflow", help="the workflow id")
    diff.add_argument("old", type=int, help="the older version")
    diff.add_argument("new", type=int, help="the newer version")
    diff.set_defaults(run=_command("workflows", "diff_versions"))
    publish = workflows_sub.add_parser("publish", help="publish the new versions in the workflows folder")
    publish.add_argument("--workflows", help="the folder (default: PORTALFLOW_WORKFLOWS, else workflows/)")
    publish.add_argument("--by", default="cli", metavar="USER_ID", help="who publishes, for the record (default: cli)")
    publish.set_defaults(run=_command("workflows", "publish"))
    migrate = workflows_sub.add_parser("migrate", help="move running enrollments onto a newer version")
    migrate.add_argument("workflow", help="the workflow id")
    migrate.add_argument("--to", type=int, required=True, metavar="VERSION", help="the version to move them to")
    migrate.add_argument("--map", action="append", metavar="OLD=NEW",
                         help="put enrollments in state OLD (gone in the new version) in state NEW; repeatable")
    migrate.add_argument("--dry-run", action="store_true", help="say what would happen to each; change nothing")
    migrate.add_argument("--reason", help="why, for each enrollment's history (required unless --dry-run)")
    migrate.add_argument("--by", default="cli", metavar="USER_ID", help="who moves them, for the record")
    migrate.add_argument("--limit", type=int, metavar="N", help="move at most N now (run again for the rest)")
    migrate.set_defaults(run=_command("workflows", "migrate"))


def _users(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = sub.add_parser("user", help="users and integrations: create them, tokens, passwords")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    create = user_sub.add_parser("create", help="create a user and print its first token (once)")
    create.add_argument("id", help="the user name, e.g. ana")
    create.add_argument("--name", required=True, help="the person's or system's full name")
    create.add_argument("--role", required=True, choices=ROLES, help=f"what the user may do: {', '.join(ROLES)}")
    create.add_argument("--linked", action="store_true", help="the user is linked to a staff record in the EHR")
    create.add_argument("--label", default="cli", help="what the token is for (default: cli)")
    create.set_defaults(run=_command("users", "create"))
    token = user_sub.add_parser("token", help="issue another token for a user (printed once)")
    token.add_argument("id", help="the user name")
    token.add_argument("--label", default="cli", help="what the token is for")
    token.add_argument("--days", type=int, help="valid for this many days (default: until revoked)")
    token.set_defaults(run=_command("users", "token"))
    revoke = user_sub.add_parser("revoke", help="revoke every token of a user")
    revoke.add_argument("id", help="the user name")
    revoke.set_defaults(run=_command("users", "revoke"))
    password = user_sub.add_parser("password", help="set a user's password for the pages (asked twice, never an "
                                   "argument); they choose their own at the next sign-in")
    password.add_argument("id", help="the user name")
    password.add_argument("--reason", required=True, help="why, for the history (e.g. 'the first admin')")
    password.set_defaults(run=_command("users", "password"))
    sites = user_sub.add_parser("sites", help="show or set the sites a user works at, and alone sees and acts at")
    sites.add_argument("id", help="the user name")
    sites.add_argument("sites", nargs="*", metavar="SITE", help="the sites (none given: show them)")
    sites.add_argument("--every", action="store_true", help="every site again (the default)")
    sites.set_defaults(run=_command("users", "sites"))


def add_import_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = sub.add_parser("import", help="import patients and guardians from a CSV file or a FHIR R4 Bundle")
    command.add_argument("file", help="a .csv file (header row naming the columns) or a .json FHIR Bundle")
    command.add_argument("--format", choices=("csv", "fhir"), help="csv or fhir (default: by the file's extension)")
    command.add_argument("--site", help="site of the rows that name none")
    command.add_argument("--actor", default="import", metavar="USER_ID",
                         help="the user id the history records (default: import)")
    command.add_argument("--dry-run", action="store_true",
                         help="check every row exactly as the import would, and say what it would do: write nothing")
    command.add_argument("--update", action="store_true",
                         help="correct the patients who already exist (same patient id) from their rows, instead of "
                              "rejecting those rows; each change goes on the patient's history")
    command.add_argument("--quiet", action="store_true",
                         help="no progress bar (there is none either when stderr is not a terminal)")
    _database(command)
    command.set_defaults(run=_command("imports", "run_import"))


def _upkeep(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="the database: upgrade its schema, set up PostgreSQL roles")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="run the schema migrations (as the tables' owner role); print the "
                                "revision before and after; makes the SQLite database when there is none")
    upgrade.set_defaults(run=_command("database", "upgrade"))
    roles = db_sub.add_parser("roles", help="PostgreSQL: make the owner and application roles and grant the "
                              "application no UPDATE, DELETE or TRUNCATE on the audit history (run after each upgrade)")
    roles.add_argument("--owner-role", default="portalflow_owner", metavar="NAME",
                       help="owns the tables and runs `db upgrade`")
    roles.add_argument("--app-role", default="portalflow_app", metavar="NAME", help="the role the service connects as")
    roles.set_defaults(run=_command("database", "set_roles"))
    backup = sub.add_parser("backup", help="copy the SQLite database (while the service runs) and its key files "
                            "into a new folder; on PostgreSQL, say what to copy")
    backup.add_argument("folder", help="a folder that does not exist yet")
    backup.set_defaults(run=_command("backups", "run_backup"))
    restore = sub.add_parser("restore", help="make the database and key files from a backup folder (refused where "
                             "either exists)")
    restore.add_argument("folder", help="a folder written by `portalflow backup`")
    restore.set_defaults(run=_command("backups", "run_restore"))


class _Help(argparse.HelpFormatter):
    """Each option's help ends with its default when it has one and does not already say it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "default" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text


def _leaves(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                yield from _leaves(child)


def _version() -> str:
    try:
        return version("portalflow")
    except PackageNotFoundError:  # run from a folder without installing: say so rather than invent a number
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portalflow", description="Patient-portal enrollment orchestrator. "
                                     "Settings: PORTALFLOW_* variables or a .env file (docs/operations.md).")
    parser.add_argument("--version", action="version", version=f"portalflow {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_designer, _workflows, _records, _service, _users, add_import_parser, _upkeep):
        add(sub)
    for each in _leaves(parser):
        # Every option's help ends with its default, and every command takes the same --database-url.
        each.formatter_class = _Help
        if each.get_default("run") is not None and "--database-url" not in each._option_string_actions:
            _database(each)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
