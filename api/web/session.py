"""Signed-in pages: the session cookie, its expiry, CSRF, and who may see what.

The cookie holds a session token issued at sign-in (`engine.people.identity`, label "web session"): HttpOnly,
SameSite=Strict, Secure when the request came over https; stored only as a digest, revoked at sign-out, ended
after `IDLE` without use and `LIFETIME` after sign-in. Every form carries a CSRF token derived from the session
token (a keyed digest, so it cannot be computed without the cookie); the sign-in form, which has no session yet,
uses a random value in a cookie of its own (double submit). A request whose Origin names another host is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, Response

from api.deps import Flow
from engine.errors import AuthenticationFailed
from engine.people.identity import User

COOKIE = "pf_session"
SIGN_IN_COOKIE = "pf_sign_in"
IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=10)  # a working day, then sign in again


class SignInNeeded(Exception):
    """No session, or it ended: the answer is the sign-in page (`why` says what happened, when anything did)."""

    def __init__(self, next_path: str, why: str | None = None) -> None:
        self.next_path, self.why = next_path, why


class PasswordChangeNeeded(Exception):
    """An admin set this user's password: nothing else opens until they choose their own."""


class PageForbidden(Exception):
    def __init__(self, role: str, allowed: tuple[str, ...]) -> None:
        self.role, self.allowed = role, allowed


class CsrfRefused(Exception):
    """A form came without the token of this session, or from another site."""


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    token: str

    @property
    def csrf(self) -> str:
        return csrf_of(self.token)

    def check(self, request: Request, sent: str | None) -> None:
        check_origin(request)
        if not sent or not hmac.compare_digest(sent.encode(), self.csrf.encode()):
            raise CsrfRefused


def csrf_of(token: str) -> str:
    return hmac.new(token.encode(), b"portalflow csrf", hashlib.sha256).hexdigest()


def check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise CsrfRefused


def safe_next(path: str | None) -> str:
    """Where to go after sign-in: a path on this site only (never `//host` or a URL)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/app/home"
    return path


def _here(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return request.url.path + query


def signed_in(request: Request, flow: Flow) -> Session:
    """The session of this request, even one that must change its password first."""
    token = request.cookies.get(COOKIE)
    if not token:
        raise SignInNeeded(_here(request))
    try:
        user = flow.users.session_user(token, IDLE)
    except AuthenticationFailed as failure:
        raise SignInNeeded(_here(request), str(failure)) from None
    return Session(user, token)


AnySession = Annotated[Session, Depends(signed_in)]


def page_session(session: AnySession) -> Session:
    if session.user.must_change_password:
        raise PasswordChangeNeeded
    return session


PageSession = Annotated[Session, Depends(page_session)]


def role(*roles: str) -> object:
    def check(session: PageSession) -> Session:
        if session.user.role not in roles:
            raise PageForbidden(session.user.role, roles)
        return session

    return Depends(check)


StaffSession = Annotated[Session, role("staff", "admin")]
ReaderSession = Annotated[Session, role("staff", "designer", "auditor", "admin")]


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(COOKIE, token, max_age=int(LIFETIME.total_seconds()), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/app")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/app", httponly=True, samesite="strict")


def sign_in_nonce(request: Request) -> str:
    """The sign-in form's CSRF value: the one in its cookie, or a new one (`keep_nonce` sets it)."""
    return request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)


def keep_nonce(request: Request, response: Response, nonce: str) -> None:
    response.set_cookie(SIGN_IN_COOKIE, nonce, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/app/sign-in")


def check_sign_in_nonce(request: Request, sent: str | None) -> None:
    check_origin(request)
    cookie = request.cookies.get(SIGN_IN_COOKIE)
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise CsrfRefused


def sign_in_url(next_path: str) -> str:
    return "/app/sign-in?next=" + quote(next_path, safe="/")
