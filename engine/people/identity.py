"""Who is acting: staff users with a role, their bearer tokens and passwords, and integrations' credentials.

Every request acts as one named user. Roles: staff, designer, auditor and admin for people; integration for
systems (the EHR feed, the portal). A token is 256 random bits shown once and stored only as its SHA-256 digest,
looked up by digest like an access link; a password (for the login endpoint of the web pages) is stored only as
an Argon2id hash and, when an admin set it, must be changed at first login. Creating users, issuing and revoking
tokens and setting passwords are audited on the user's own chain (`staff:<id>`), with no secret in the row.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, insert, select, update

from definitions.model import Actor
from engine.actors import ActorRef
from engine.audit.entry import about_subject
from engine.audit.trail import append_to_subject
from engine.clock import as_utc
from engine.credentials.hashing import SecretHasher
from engine.credentials.tokens import token_digest
from engine.errors import AuthenticationFailed, InvalidInput, NotFound
from engine.storage.tables import api_tokens, staff_users

ROLES = ("staff", "designer", "auditor", "admin", "integration")
TOKEN_PREFIX = "pf_"  # noqa: S105 - a prefix, not a secret; so a leaked token is recognisable in a scanner, and never mistaken for a PIN
# The id is part of its audit chain's key ("staff:<id>"), which holds 64 characters.
_USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,57}$")
MIN_PASSWORD = 12
# One Argon2 verification is spent on unknown users too, so timing does not tell who exists.
_DUMMY_HASH_INPUT = "portalflow-no-such-user"


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    role: str
    active: bool
    linked_to_staff_record: bool
    must_change_password: bool

    @property
    def actor(self) -> ActorRef:
        kind = Actor.INTEGRATION if self.role == "integration" else Actor.STAFF
        return ActorRef(self.id, self.role, kind)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token shown once: `value` is never stored."""

    value: str
    user_id: str
    label: str
    expires_at: datetime | None


def _user(row: object) -> User:
    mapping = row._mapping  # type: ignore[attr-defined]
    return User(mapping["id"], mapping["name"], mapping["role"], bool(mapping["active"]),
                bool(mapping["linked_to_staff_record"]), bool(mapping["must_change_password"]))


def get_user(conn: Connection, user_id: str) -> User:
    row = conn.execute(select(staff_users).where(staff_users.c.id == user_id)).first()
    if row is None:
        raise NotFound("user", user_id)
    return _user(row)


def list_users(conn: Connection) -> list[User]:
    return [_user(r) for r in conn.execute(select(staff_users).order_by(staff_users.c.id))]


def _record(conn: Connection, now: datetime, by: ActorRef, action: str, user_id: str, detail: str) -> None:
    append_to_subject(conn, about_subject("staff", user_id, now, by, action, detail=detail))


def create_user(conn: Connection, now: datetime, by: ActorRef, user_id: str, name: str, role: str, *,
                linked_to_staff_record: bool = False) -> User:
    if not _USER_ID.match(user_id):
        raise InvalidInput("id", "1-58 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if not name.strip():
        raise InvalidInput("name", "a name is required")
    if role not in ROLES:
        raise InvalidInput("role", f"unknown role '{role}'; roles: {', '.join(ROLES)}")
    if conn.execute(select(staff_users.c.id).where(staff_users.c.id == user_id)).first() is not None:
        raise InvalidInput("id", f"a user '{user_id}' already exists")
    conn.execute(insert(staff_users).values(id=user_id, name=name.strip(), role=role, active=True,
                                            linked_to_staff_record=linked_to_staff_record,
                                            must_change_password=False))
    _record(conn, now, by, "user_created", user_id, f"role {role}")
    return get_user(conn, user_id)


def issue_token(conn: Connection, now: datetime, by: ActorRef, user_id: str, label: str = "api", *,
                valid_for: timedelta | None = None) -> IssuedToken:
    user = get_user(conn, user_id)
    if not user.active:
        raise InvalidInput("user_id", f"user '{user_id}' is deactivated")
    value = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = now + valid_for if valid_for is not None else None
    conn.execute(insert(api_tokens).values(digest=token_digest(value), user_id=user_id, label=label[:120],
                                           created_at=now, expires_at=expires))
    _record(conn, now, by, "token_issued", user_id, f"token '{label[:120]}'")
    return IssuedToken(value, user_id, label, expires)


def revoke_tokens(conn: Connection, now: datetime, by: ActorRef, user_id: str) -> int:
    get_user(conn, user_id)
    revoked = conn.execute(update(api_tokens).where(
        (api_tokens.c.user_id == user_id) & api_tokens.c.revoked_at.is_(None)).values(revoked_at=now)).rowcount
    _record(conn, now, by, "tokens_revoked", user_id, f"{revoked} token(s)")
    return int(revoked)


def authenticate(conn: Connection, now: datetime, token: str) -> User:
    """The user a bearer token belongs to; `AuthenticationFailed` says why in words that reveal nothing else."""
    row = conn.execute(select(api_tokens.c.expires_at, api_tokens.c.revoked_at, staff_users).join(
        staff_users, staff_users.c.id == api_tokens.c.user_id).where(
        api_tokens.c.digest == token_digest(token))).first()
    if row is None or row.revoked_at is not None:
        raise AuthenticationFailed("the token is not valid (unknown or revoked)")
    if row.expires_at is not None and as_utc(row.expires_at) <= now:
        raise AuthenticationFailed("the token has expired; log in again or ask an admin for a new one")
    if not row.active:
        raise AuthenticationFailed("this user is deactivated")
    return _user(row)


def set_password(conn: Connection, now: datetime, by: ActorRef, hasher: SecretHasher, user_id: str,
                 password: str, *, reason: str | None = None) -> None:
    """Set a user's password. Set by someone else (an admin), it is an audited exception and must be changed."""
    get_user(conn, user_id)
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("password", f"at least {MIN_PASSWORD} characters")
    by_other = by.id != user_id
    if by_other and not (reason or "").strip():
        raise InvalidInput("reason", "setting another user's password needs a reason")
    conn.execute(update(staff_users).where(staff_users.c.id == user_id).values(
        password_hash=hasher.hash(password), must_change_password=by_other))
    _record(conn, now, by, "password_set", user_id,
            f"set by {by.id}: {reason}" if by_other else "changed by the user")


def log_in(conn: Connection, now: datetime, hasher: SecretHasher, user_id: str, password: str,
           *, valid_for: timedelta = timedelta(hours=12)) -> tuple[User, IssuedToken]:
    """Check a password and issue a session token. Unknown user, no password and a wrong one read the same."""
    row = conn.execute(select(staff_users).where(staff_users.c.id == user_id)).first()
    stored = row.password_hash if row is not None else None
    if stored is None:
        hasher.verify(hasher.hash(_DUMMY_HASH_INPUT), password)
        raise AuthenticationFailed("the user name or password is not correct")
    if not hasher.verify(stored, password):
        raise AuthenticationFailed("the user name or password is not correct")
    user = _user(row)
    if not user.active:
        raise AuthenticationFailed("this user is deactivated")
    return user, issue_token(conn, now, user.actor, user.id, "login", valid_for=valid_for)
