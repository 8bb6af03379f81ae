"""Staff users, integrations, their tokens and passwords: each call one transaction, audited on `staff:<id>`.

Bearer tokens recognised in the last few seconds are kept in the process (`engine.people.token_cache`): every
change here that could end or narrow a token's use empties that cache before it returns.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta

from sqlalchemy import Engine

from engine.actors import ActorRef
from engine.clock import Clock
from engine.credentials.even_time import SIGN_IN_REFUSAL_FLOOR, refusals_take_at_least
from engine.credentials.hashing import SecretHasher
from engine.credentials.tokens import token_digest
from engine.errors import AuthenticationFailed
from engine.front_door.base import Door
from engine.people import identity
from engine.people.identity import IssuedToken, User
from engine.people.sign_in_addresses import address_paused, record_address_failure
from engine.people.token_cache import TokenCache
from engine.people.user_sites import set_sites


class Users(Door):
    def __init__(self, db: Engine, clock: Clock, hasher: SecretHasher, tokens: TokenCache | None = None) -> None:
        super().__init__(db, clock)
        self.hasher = hasher
        self.tokens = tokens if tokens is not None else TokenCache()

    def recognised(self, token: str) -> User | None:
        """`authenticate` answered from memory, with no I/O: the user of a token recognised in the last few seconds
        (its expiry checked now), or None when only the database can say (then call `authenticate`)."""
        known = self.tokens.get(token_digest(token))
        if known is None:
            return None
        identity.check_expiry(known.expires_at, self.clock.now())
        return known.user

    def authenticate(self, token: str) -> User:
        """The user a bearer token belongs to, or `AuthenticationFailed` in words that reveal nothing else."""
        now = self.clock.now()
        digest = token_digest(token)
        known = self.tokens.get(digest)
        if known is not None:
            identity.check_expiry(known.expires_at, now)
            return known.user
        with self.reader.connect() as conn:
            user, expires_at = identity.token_user(conn, now, token)
        self.tokens.keep(digest, user, expires_at)
        return user

    def log_in(self, user_id: str, password: str, *, label: str = "login",
               valid_for: timedelta = timedelta(hours=12), address: str | None = None) -> tuple[User, IssuedToken]:
        """A password for a token. The Argon2 check runs on the read side, outside any write transaction; then
        one short write counts a failure (for the user and for the caller's `address`) or issues the token. Every
        failure raises the same words, no sooner than `SIGN_IN_REFUSAL_FLOOR` after the password arrived. An
        address paused for too many failures is refused without a check."""
        with refusals_take_at_least(SIGN_IN_REFUSAL_FLOOR):
            return self._log_in(user_id, password, label, valid_for, address)

    def _log_in(self, user_id: str, password: str, label: str, valid_for: timedelta,
                address: str | None) -> tuple[User, IssuedToken]:
        now = self.clock.now()
        with self.reader.connect() as conn:
            blocked = address_paused(conn, address, now)
            check = identity.SignInCheck(None, False, False) if blocked else identity.check_sign_in(
                conn, now, self.hasher, user_id, password)
        with self.db.begin() as conn:
            if not blocked:
                identity.record_sign_in(conn, now, user_id, check)
            if check.user is None:
                record_address_failure(conn, address, now)
                issued = None
            else:
                issued = check.user, identity.issue_token(conn, now, check.user.actor, check.user.id, label,
                                                          valid_for=valid_for)
        if issued is None:
            raise AuthenticationFailed(identity.SIGN_IN_REFUSED)
        return issued

    def verify_password(self, user_id: str, password: str) -> bool:
        with self.reader.connect() as conn:
            return identity.verify_password(conn, self.hasher, user_id, password)

    def session_user(self, token: str, idle: timedelta) -> User:
        """The user of a web session (`AuthenticationFailed` when it ended); its last use is kept for `idle`."""
        now = self.clock.now()
        with self.reader.connect() as conn:
            user, touch = identity.session_user(conn, now, token, idle)
        if touch:
            with self.db.begin() as conn:
                identity.touch_session(conn, now, token)
        return user

    def end_session(self, user: User, token: str) -> None:
        with self.db.begin() as conn:
            identity.end_session(conn, self.clock.now(), user, token)
        self.tokens.clear()

    def change_own_password(self, user: User, password: str, *, keep: str | None = None) -> None:
        """The user's own new password; every other session from the old one ends (`keep`: the caller's)."""
        with self.db.begin() as conn:
            identity.set_password(conn, self.clock.now(), user.actor, self.hasher, user.id, password, keep=keep)
        self.tokens.clear()  # the sessions from the old password ended

    def set_password(self, by: ActorRef, user_id: str, password: str, reason: str | None) -> None:
        """An admin sets a password by hand: an audited exception with a reason, to be changed at first use."""
        with self.db.begin() as conn:
            identity.set_password(conn, self.clock.now(), by, self.hasher, user_id, password, reason=reason)
        self.tokens.clear()  # the sessions from the old password ended, and it must be changed before any work

    def get(self, user_id: str) -> User:
        with self.reader.connect() as conn:
            return identity.get_user(conn, user_id)

    def list(self) -> list[User]:
        with self.reader.connect() as conn:
            return identity.list_users(conn)

    def create(self, by: ActorRef, user_id: str, name: str, role: str, *, linked_to_staff_record: bool = False,
               token_label: str | None = None, first_password: str | None = None
               ) -> tuple[User, IssuedToken | None]:
        """A new user (and, given a label, its first token; given a first password, that password, which they
        must change at their first sign-in), all in one transaction."""
        with self.db.begin() as conn:
            now = self.clock.now()
            user = identity.create_user(conn, now, by, user_id, name, role,
                                        linked_to_staff_record=linked_to_staff_record)
            if first_password is not None:
                identity.set_password(conn, now, by, self.hasher, user_id, first_password,
                                      reason="first password of a new user")
                user = identity.get_user(conn, user_id)
            token = identity.issue_token(conn, now, by, user_id, token_label) if token_label is not None else None
            return user, token

    def change_role(self, by: ActorRef, user_id: str, role: str) -> User:
        with self.db.begin() as conn:
            changed = identity.change_role(conn, self.clock.now(), by, user_id, role)
        self.tokens.clear()
        return changed

    def set_sites(self, by: ActorRef, user_id: str, site_ids: Collection[str] | None) -> User:
        """The sites the user works at, where alone they see and act (None or empty: every site); audited."""
        with self.db.begin() as conn:
            user = identity.get_user(conn, user_id)
            set_sites(conn, self.clock.now(), by, user_id, user.role, site_ids)
            changed = identity.get_user(conn, user_id)
        self.tokens.clear()
        return changed

    def issue_token(self, by: ActorRef, user_id: str, label: str, *,
                    valid_for: timedelta | None = None) -> IssuedToken:
        with self.db.begin() as conn:
            return identity.issue_token(conn, self.clock.now(), by, user_id, label, valid_for=valid_for)

    def revoke_tokens(self, by: ActorRef, user_id: str) -> int:
        with self.db.begin() as conn:
            revoked = identity.revoke_tokens(conn, self.clock.now(), by, user_id)
        self.tokens.clear()
        return revoked
