"""Sign in, sign out, and choose your own password (required first when an admin set it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from api.deps import Flow, client_address
from api.web.responses import PageRoute, go, render
from api.web.session import (
    LIFETIME,
    AnySession,
    check_sign_in_nonce,
    clear_session_cookie,
    keep_nonce,
    safe_next,
    set_session_cookie,
    sign_in_nonce,
)
from engine.errors import AuthenticationFailed, InvalidInput
from engine.people.identity import MIN_PASSWORD, SESSION_LABEL

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)

_WHY = {"ended": "Your session ended (signed out, idle too long, or past its end): sign in again.",
        "out": "You are signed out."}
Text = Annotated[str, Form()]


def _form(request: Request, status_code: int = 200, *, next_path: str | None = None, user_id: str = "",
          error: str | None = None, why: str | None = None) -> Response:
    nonce = sign_in_nonce(request)
    response = render(request, "sign_in.html", None, status_code, next_path=safe_next(next_path), user_id=user_id,
                      error=error, notice=_WHY.get(why or ""), nonce=nonce)
    keep_nonce(request, response, nonce)
    return response


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None, why: str | None = None) -> Response:
    return _form(request, next_path=next, why=why)


@router.post("/sign-in")
def sign_in(request: Request, flow: Flow, user_id: Text = "", password: Text = "", next: Text = "/app/home",
            csrf_token: Text = "") -> Response:
    check_sign_in_nonce(request, csrf_token)
    if not user_id.strip() or not password:
        return _form(request, 422, next_path=next, user_id=user_id,
                     error="Enter your user name and your password.")
    try:
        user, token = flow.users.log_in(user_id.strip(), password, label=SESSION_LABEL, valid_for=LIFETIME,
                                        address=client_address(request))
    except AuthenticationFailed as failure:
        return _form(request, 401, next_path=next, user_id=user_id, error=str(failure).capitalize() + ".")
    response = go(request, "/app/password" if user.must_change_password else safe_next(next))
    set_session_cookie(request, response, token.value)
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: AnySession, flow: Flow, csrf_token: Text = "") -> Response:
    session.check(request, csrf_token)
    flow.users.end_session(session.user, session.token)
    response = go(request, "/app/sign-in?why=out")
    clear_session_cookie(response)
    return response


@router.get("/password")
def password_page(request: Request, session: AnySession) -> Response:
    return render(request, "password.html", session, minimum=MIN_PASSWORD, error=None)


@router.post("/password")
def change_password(request: Request, session: AnySession, flow: Flow, password: Text = "", repeat: Text = "",
                    current: Text = "", csrf_token: Text = "") -> Response:
    """A new password of one's own: the current one is asked for too, unless an admin has just set it (then the
    sign-in a moment ago proved it). Every other session of this user ends."""
    session.check(request, csrf_token)
    error = None
    if not session.user.must_change_password and not flow.users.verify_password(session.user.id, current):
        error = "Your current password is not correct."
    elif password != repeat:
        error = "The two passwords are not the same."
    else:
        try:
            flow.users.change_own_password(session.user, password, keep=session.token)
        except InvalidInput as invalid:
            error = f"The new password is not accepted: {invalid}."
    if error:
        return render(request, "password.html", session, 422, minimum=MIN_PASSWORD, error=error)
    return go(request, "/app/home?changed=password")
