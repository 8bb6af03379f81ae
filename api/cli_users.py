"""`portalflow user ...`: create users and integrations and issue their tokens from the server's shell.

This is how the first admin comes to exist: whoever can run commands on the server is trusted to. Each command is
audited with the actor `cli`. A token is printed once, on stdout alone, so it can be captured in a variable.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Connection

from definitions.model import Actor
from engine.context import ActorRef

T = TypeVar("T")
CLI_ACTOR = ActorRef("cli", "admin", Actor.STAFF)


def _in_transaction(args: argparse.Namespace, work: Callable[[Connection, datetime], T]) -> T | None:
    """Run `work` in one transaction on the database the settings (or --database-url) name; on a refusal (a bad
    value, an unknown user) print it and return None, with nothing written."""
    from api.settings import Settings
    from engine.clock import SystemClock
    from engine.errors import InvalidInput, NotFound
    from engine.storage.database import make_engine
    from engine.storage.migrations import upgrade

    db = make_engine(args.database_url or Settings.from_env().database_url)
    try:
        upgrade(db)
        with db.begin() as conn:
            return work(conn, SystemClock().now())
    except (InvalidInput, NotFound) as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    finally:
        db.dispose()


def cmd_user_create(args: argparse.Namespace) -> int:
    from engine import identity

    def create(conn: Connection, now: datetime) -> identity.IssuedToken:
        identity.create_user(conn, now, CLI_ACTOR, args.id, args.name, args.role, linked_to_staff_record=args.linked)
        return identity.issue_token(conn, now, CLI_ACTOR, args.id, args.label)

    token = _in_transaction(args, create)
    if token is None:
        return 2
    print(f"user {args.id} ({args.role}) created; its token, shown once:", file=sys.stderr)
    print(token.value)  # on stdout alone, so `ADMIN=$(portalflow user create ...)` captures it and nothing else
    return 0


def cmd_user_token(args: argparse.Namespace) -> int:
    from engine import identity

    valid_for = timedelta(days=args.days) if args.days else None
    token = _in_transaction(args, lambda conn, now: identity.issue_token(
        conn, now, CLI_ACTOR, args.id, args.label, valid_for=valid_for))
    if token is None:
        return 2
    print(f"a new token for {args.id}, shown once:", file=sys.stderr)
    print(token.value)
    return 0


def cmd_user_revoke(args: argparse.Namespace) -> int:
    from engine import identity

    count = _in_transaction(args, lambda conn, now: identity.revoke_tokens(conn, now, CLI_ACTOR, args.id))
    if count is None:
        return 2
    print(f"{count} token(s) of {args.id} revoked")
    return 0


def add_user_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = sub.add_parser("user", help="users and integrations: create them, issue and revoke tokens")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    create = user_sub.add_parser("create", help="create a user and print its first token (once)")
    create.add_argument("id", help="the user name, e.g. ana")
    create.add_argument("--name", required=True, help="the person's or system's full name")
    create.add_argument("--role", required=True, help="staff, designer, auditor, admin or integration")
    create.add_argument("--linked", action="store_true", help="the user is linked to a staff record in the EHR")
    create.add_argument("--label", default="cli", help="what the token is for (default: cli)")
    create.set_defaults(run=cmd_user_create)
    token = user_sub.add_parser("token", help="issue another token for a user (printed once)")
    token.add_argument("id")
    token.add_argument("--label", default="cli")
    token.add_argument("--days", type=int, help="valid for this many days (default: until revoked)")
    token.set_defaults(run=cmd_user_token)
    revoke = user_sub.add_parser("revoke", help="revoke every token of a user")
    revoke.add_argument("id")
    revoke.set_defaults(run=cmd_user_revoke)
    for command in (create, token, revoke):
        command.add_argument("--database-url", help="SQLAlchemy URL (default: PORTALFLOW_DATABASE_URL or var/)")
