"""`portalflow db upgrade|roles`: the schema migrations run on their own (as the tables' owner role), and the
PostgreSQL roles that let the service work without being able to rewrite the audit history."""

from __future__ import annotations

import argparse
import sys

from api.cli.opening import require_database, settings_for
from engine.front_door.maintenance import roles, upgrade_schema


def upgrade(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    before, after = upgrade_schema(settings.database_url)
    if before == after:
        print(f"schema already at {after}: nothing to do")
    else:
        print(f"schema upgraded from {before or '(empty database)'} to {after}")
    return 0


def set_roles(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    if settings.sqlite_path() is not None:
        print("error: roles are a PostgreSQL matter; a SQLite database is guarded by its file's permissions",
              file=sys.stderr)
        return 2
    require_database(settings)
    try:
        report = roles(settings.database_url, owner_role=args.owner_role, app_role=args.app_role)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for name in report.created:
        print(f"role {name} created (LOGIN, no password: give it one, or use your server's authentication)")
    print(f"schema {report.schema}: {report.tables} table(s) owned by {args.owner_role}; {args.app_role} may read "
          "and write them, but only read and append to audit_events and audit_anchors")
    return 0
