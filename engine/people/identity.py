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
from engine.actors import SYSTEM_ACTOR, ActorRef
from engine.audit.entry import about_subject
from engine.audit.trail import append_to_subject
from engine.clock import as_utc
from engine.credentials.hashing import SecretHasher
from engine.credentials.tokens import token_digest
from engine.errors import AlreadyExists, AuthenticationFailed, InvalidInput, NotFound
from engine.people.user_sites import sites_of
from engine.storage.tables import api_tokens, staff_user_sites, staff_users

ROLES = ("staff", "designer", "auditor", "admin", "integration")
TOKEN_PREFIX = "pf_"  # noqa: S105 - a prefix, not a secret; so a leaked token is recognisable in a scanner, and never mistaken for a PIN
# The id is part of its audit chain's key ("staff:<id>"), which holds 64 characters.
_USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,57}$")
MIN_PASSWORD = 12
SESSION_LABEL = "web session"
PAUSE_AFTER_FAILURES = 5
SIGN_IN_PAUSE = timedelta(minutes=15)
# One answer for a wrong password, an unknown user, no password and a paused sign-in: none tells which.
SIGN_IN_REFUSED = (f"the user name or password is not correct (after {PAUSE_AFTER_FAILURES} failures in a row, "
                   f"sign-in pauses for {SIGN_IN_PAUSE.seconds // 60} minutes; an admin can reset the password)")
# A session's last use is written at most this often: a page view is not a write.
_TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    role: str
    active: bool
    linked_to_staff_record: bool
    must_change_password: bool
    sites: frozenset[str] | None = None  # the sites they work at; None: every site

    @property
    def actor(self) -> ActorRef:
        if self.role == "integration":
            return ActorRef(self.id, self.role, Actor.INTEGRATION)  # an integration is bound to no site
        return ActorRef(self.id, self.role, Actor.STAFF, self.sites)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token shown once: `value` is never stored."""

    value: str
    user_id: str
    label: str
    expires_at: datetime | None


def _user(row: object, sites: frozenset[str] | None = None) -> User:
    mapping = row._mapping  # type: ignore[attr-defined]
    return User(mapping["id"], mapping["name"], mapping["role"], bool(mapping["active"]),
                bool(mapping["linked_to_staff_record"]), bool(mapping["must_change_password"]), sites)


def _walled(conn: Connection, row: object) -> User:
    """The user of `row` with the sites they work at (one more read: a user's walls travel with them)."""
    user_id = row._mapping["id"]  # type: ignore[attr-defined]
    return _user(row, sites_of(conn, [user_id]).get(user_id))


def get_user(conn: Connection, user_id: str) -> User:
    row = conn.execute(select(staff_users).where(staff_users.c.id == user_id)).first()
    if row is None:
        raise NotFound("user", user_id)
    return _walled(conn, row)


def list_users(conn: Connection) -> list[User]:
    walls = sites_of(conn)
    return [_user(r, walls.get(r.id)) for r in conn.execute(select(staff_users).order_by(staff_users.c.id))]


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
        raise AlreadyExists("user", user_id)
    conn.execute(insert(staff_users).values(id=user_id, name=name.strip(), role=role, active=True,
                                            linked_to_staff_record=linked_to_staff_record,
                                            must_change_password=False))
    _record(conn, now, by, "user_created", user_id, f"role {role}")
    return get_user(conn, user_id)


def change_role(conn: Connection, now: datetime, by: ActorRef, user_id: str, role: str) -> User:
    user = get_user(conn, user_id)
    if role not in ROLES:
        raise InvalidInput("role", f"unknown role '{role}'; roles: {', '.join(ROLES)}")
    if role != user.role:
        conn.execute(update(staff_users).where(staff_users.c.id == user_id).values(role=role))
        _record(conn, now, by, "role_changed", user_id, f"role {user.role} -> {role}")
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
    return token_user(conn, now, token)[0]


def token_user(conn: Connection, now: datetime, token: str) -> tuple[User, datetime | None]:
    """`authenticate`, and the token's end (UTC; None: it never ends). The user's sites are joined in: one
    statement."""
    rows = conn.execute(select(api_tokens.c.expires_at, api_tokens.c.revoked_at, staff_users,
                               staff_user_sites.c.site_id)
                        .select_from(api_tokens.join(staff_users, staff_users.c.id == api_tokens.c.user_id)
                                     .outerjoin(staff_user_sites, staff_user_sites.c.user_id == staff_users.c.id))
                        .where((api_tokens.c.digest == token_digest(token))
                               & (api_tokens.c.label != SESSION_LABEL))).all()
    row = rows[0] if rows else None
    if row is None or row.revoked_at is not None:  # a web session's cookie is no bearer token (no idle end there)
        raise AuthenticationFailed("the token is not valid (unknown or revoked)")
    expires_at = as_utc(row.expires_at) if row.expires_at is not None else None
    check_expiry(expires_at, now)
    if not row.active:
        raise AuthenticationFailed("this user is deactivated")
    sites = frozenset(r.site_id for r in rows if r.site_id is not None)
    return _user(row, sites or None), expires_at


def check_expiry(expires_at: datetime | None, now: datetime) -> None:
    if expires_at is not None and expires_at <= now:
        raise AuthenticationFailed("the token has expired; log in again or ask an admin for a new one")


def set_password(conn: Connection, now: datetime, by: ActorRef, hasher: SecretHasher, user_id: str,
                 password: str, *, reason: str | None = None, keep: str | None = None) -> None:
    """Set a user's password. Set by someone else (an admin), it is an audited exception and must be changed.
    Every session from the old password ends, but `keep` (the session of the user changing their own)."""
    get_user(conn, user_id)
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("password", f"at least {MIN_PASSWORD} characters")
    by_other = by.id != user_id
    if by_other and not (reason or "").strip():
        raise InvalidInput("reason", "setting another user's password needs a reason")
    conn.execute(update(staff_users).where(staff_users.c.id == user_id).values(
        password_hash=hasher.hash(password), must_change_password=by_other, failed_sign_ins=0,
        sign_in_paused_until=None))
    ended = end_other_sessions(conn, now, user_id, keep)
    said = f"set by {by.id}: {reason}" if by_other else "changed by the user"
    _record(conn, now, by, "password_set", user_id, f"{said}; {ended} session(s) ended" if ended else said)



@dataclass(frozen=True, slots=True)
class SignInCheck:
    """What a password check found: `user` when it may sign in; `known` when such a user has a password."""

    user: User | None
    known: bool
    correct: bool


def check_sign_in(conn: Connection, now: datetime, hasher: SecretHasher, user_id: str, password: str
                  ) -> SignInCheck:
    """Read only, so the Argon2 verification never runs inside a write transaction (on SQLite it would hold the
    database's one write lock). Unknown user, no password, wrong password, paused or deactivated: no user."""
    row = conn.execute(select(staff_users).where(staff_users.c.id == user_id)).first()
    stored = row.password_hash if row is not None else None
    if row is None or stored is None:  # one Argon2 verification all the same: timing does not tell who exists
        hasher.verify_nothing(password)
        return SignInCheck(None, False, False)
    correct = hasher.verify(stored, password)
    paused = row.sign_in_paused_until is not None and as_utc(row.sign_in_paused_until) > now
    return SignInCheck(_walled(conn, row) if correct and not paused and row.active else None, True, correct)


def record_sign_in(conn: Connection, now: datetime, user_id: str, check: SignInCheck) -> None:
    """The short write after a check: a success clears the count; a wrong password adds one (atomically, so
    parallel guesses all count) and the fifth in a row pauses sign-in, audited."""
    if check.user is not None:
        conn.execute(update(staff_users).where((staff_users.c.id == user_id) & (
            (staff_users.c.failed_sign_ins > 0) | staff_users.c.sign_in_paused_until.is_not(None))).values(
            failed_sign_ins=0, sign_in_paused_until=None))
        return
    if not check.known or check.correct:
        return  # no such user, or the right password while paused or deactivated: nothing to count
    failures = conn.execute(update(staff_users).where(staff_users.c.id == user_id).values(
        failed_sign_ins=staff_users.c.failed_sign_ins + 1).returning(staff_users.c.failed_sign_ins)).scalar_one()
    if failures >= PAUSE_AFTER_FAILURES:
        until = now + SIGN_IN_PAUSE
        conn.execute(update(staff_users).where(staff_users.c.id == user_id).values(
            failed_sign_ins=0, sign_in_paused_until=until))
        _record(conn, now, SYSTEM_ACTOR, "sign_in_paused", user_id,
                f"{failures} wrong passwords in a row; paused until {until:%Y-%m-%d %H:%M} UTC")


def verify_password(conn: Connection, hasher: SecretHasher, user_id: str, password: str) -> bool:
    """Whether this is the user's password now (read only; counts nothing)."""
    stored = conn.execute(select(staff_users.c.password_hash).where(staff_users.c.id == user_id)).scalar()
    return hasher.verify(stored, password) if stored is not None else hasher.verify_nothing(password)


def end_other_sessions(conn: Connection, now: datetime, user_id: str, keep: str | None) -> int:
    """Revoke the user's sessions from a password (web sessions and API logins), all but `keep`'s: a password
    changed or reset leaves no one signed in with the old one. Tokens issued for scripts stay (revoked apart)."""
    query = update(api_tokens).where((api_tokens.c.user_id == user_id) & api_tokens.c.revoked_at.is_(None)
                                     & api_tokens.c.label.in_((SESSION_LABEL, "login")))
    if keep is not None:
        query = query.where(api_tokens.c.digest != token_digest(keep))
    return int(conn.execute(query.values(revoked_at=now)).rowcount)


def session_user(conn: Connection, now: datetime, token: str, idle: timedelta) -> tuple[User, bool]:
    """The user of a web session, and whether its last use should be written now; `AuthenticationFailed` when
    it is unknown, revoked, past its end, or unused for longer than `idle`."""
    row = conn.execute(select(api_tokens.c.expires_at, api_tokens.c.revoked_at, api_tokens.c.created_at,
                              api_tokens.c.last_used_at, staff_users).join(
        staff_users, staff_users.c.id == api_tokens.c.user_id).where(
        (api_tokens.c.digest == token_digest(token)) & (api_tokens.c.label == SESSION_LABEL))).first()
    if row is None or row.revoked_at is not None:
        raise AuthenticationFailed("you are signed out")
    if row.expires_at is not None and as_utc(row.expires_at) <= now:
        raise AuthenticationFailed("your session ended: sign in again")
    last = as_utc(row.last_used_at or row.created_at)
    if last + idle <= now:
        raise AuthenticationFailed(f"you were signed out after {int(idle.total_seconds() // 60)} minutes without "
                                   "activity")
    if not row.active:
        raise AuthenticationFailed("this user is deactivated")
    return _walled(conn, row), now - last >= _TOUCH_EVERY


def touch_session(conn: Connection, now: datetime, token: str) -> None:
    conn.execute(update(api_tokens).where(api_tokens.c.digest == token_digest(token)).values(last_used_at=now))


def end_session(conn: Connection, now: datetime, user: User, token: str) -> None:
    """Sign out: the session's token is revoked (audited on the user's chain)."""
    ended = conn.execute(update(api_tokens).where(
        (api_tokens.c.digest == token_digest(token)) & (api_tokens.c.user_id == user.id)
        & api_tokens.c.revoked_at.is_(None)).values(revoked_at=now)).rowcount
    if ended:
        _record(conn, now, user.actor, "signed_out", user.id, "web session ended")
