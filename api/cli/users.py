"""`portalflow user ...`: create users and integrations, issue their tokens, set the sites they work at, from the
server's shell.

This is how the first admin comes to exist: whoever can run commands on the server is trusted to. Each command is
audited with the actor `cli`. A token is printed once, on stdout alone, so it can be captured in a variable.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from api.cli.opening import open_flow
from definitions.model import Actor
from engine.actors import ActorRef
from engine.errors import AlreadyExists, InvalidInput, NotFound
from engine.front_door.users import Users

T = TypeVar("T")
CLI_ACTOR = ActorRef("cli", "admin", Actor.STAFF)


def _refusing(args: argparse.Namespace, work: Callable[[Users], T]) -> T | None:
    """Run `work` on the command's database; on a refusal (a bad value, an unknown user) print it and return None,
    with nothing written."""
    try:
        with open_flow(args) as flow:
            return work(flow.users)
    except (AlreadyExists, InvalidInput, NotFound) as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def create(args: argparse.Namespace) -> int:
    made = _refusing(args, lambda users: users.create(CLI_ACTOR, args.id, args.name, args.role,
                                                      linked_to_staff_record=args.linked, token_label=args.label))
    if made is None or made[1] is None:
        return 2
    print(f"user {args.id} ({args.role}) created; its token, shown once:", file=sys.stderr)
    print(made[1].value)  # on stdout alone, so `ADMIN=$(portalflow user create ...)` captures it and nothing else
    return 0


def token(args: argparse.Namespace) -> int:
    valid_for = timedelta(days=args.days) if args.days else None
    issued = _refusing(args, lambda users: users.issue_token(CLI_ACTOR, args.id, args.label, valid_for=valid_for))
    if issued is None:
        return 2
    print(f"a new token for {args.id}, shown once:", file=sys.stderr)
    print(issued.value)
    return 0


def revoke(args: argparse.Namespace) -> int:
    count = _refusing(args, lambda users: users.revoke_tokens(CLI_ACTOR, args.id))
    if count is None:
        return 2
    print(f"{count} token(s) of {args.id} revoked")
    return 0


def password(args: argparse.Namespace) -> int:
    """Asked twice at a terminal; from a pipe, the first line of standard input. Never on the command line,
    where `ps` and the shell's history would keep it."""
    if sys.stdin.isatty():
        chosen = getpass.getpass(f"password for {args.id}: ")
        if getpass.getpass("the same again: ") != chosen:
            print("error: the two passwords are not the same; nothing was changed", file=sys.stderr)
            return 2
    else:
        chosen = sys.stdin.readline().rstrip("\n")
    def set_it(users: Users) -> bool:
        users.set_password(CLI_ACTOR, args.id, chosen, args.reason)
        return True

    if _refusing(args, set_it) is None:
        return 2
    print(f"password of {args.id} set; they choose their own at their next sign-in")
    return 0


def sites(args: argparse.Namespace) -> int:
    """Show the sites a user works at, set them (`SITE ...`), or give every site back (`--every`)."""
    def work(users: Users) -> frozenset[str] | None:
        if args.every or args.sites:
            return users.set_sites(CLI_ACTOR, args.id, None if args.every else args.sites).sites
        return users.get(args.id).sites

    shown = _refusing(args, lambda users: (work(users),))
    if shown is None:
        return 2
    print(f"{args.id} works at: {', '.join(sorted(shown[0])) if shown[0] is not None else 'every site'}")
    return 0
