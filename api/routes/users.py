"""Users, tokens and passwords: admins manage them; anyone logs in and changes their own password."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, status

from api.deps import Admin, AnyUser, BearerToken, Flow, client_address
from api.errors import responses
from api.schemas.users import LoginIn, LoginOut, NewToken, NewUser, PasswordIn, Revoked, SitesIn, TokenOut, UserOut

router = APIRouter(tags=["users"])


@router.post("/auth/login", response_model=LoginOut, responses=responses(401, 422))
def log_in(body: LoginIn, flow: Flow, request: Request) -> LoginOut:
    """Exchange a user name and password for a session token. Failures pause the user after 5 in a row, and the
    caller's address after 20 within 15 minutes."""
    user, token = flow.users.log_in(body.user_id, body.password, address=client_address(request))
    return LoginOut(token=token.value, expires_at=token.expires_at, user=UserOut.of(user))


@router.post("/auth/password", status_code=status.HTTP_204_NO_CONTENT, responses=responses(401, 422))
def change_own_password(body: PasswordIn, user: AnyUser, flow: Flow, token: BearerToken) -> None:
    """Change your own password (required first when an admin set it). Every other session from a password ends;
    the token of this request stays."""
    flow.users.change_own_password(user, body.password, keep=token)


@router.get("/me", response_model=UserOut, responses=responses(401))
def who_am_i(user: AnyUser) -> UserOut:
    """The user this request acts as."""
    return UserOut.of(user)


@router.get("/users", response_model=list[UserOut], responses=responses(401, 403))
def list_users(_: Admin, flow: Flow) -> list[UserOut]:
    return [UserOut.of(u) for u in flow.users.list()]


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED,
             responses=responses(401, 403, 409, 422))
def create_user(body: NewUser, admin: Admin, flow: Flow) -> UserOut:
    user, _ = flow.users.create(admin.actor, body.id, body.name, body.role,
                                linked_to_staff_record=body.linked_to_staff_record)
    return UserOut.of(user)


@router.put("/users/{user_id}/sites", response_model=UserOut, responses=responses(401, 403, 404, 422))
def set_sites(user_id: str, body: SitesIn, admin: Admin, flow: Flow) -> UserOut:
    """The sites a user works at: they see and act only there (a patient elsewhere is not found); null or []:
    every site. Audited on the user's history."""
    return UserOut.of(flow.users.set_sites(admin.actor, user_id, body.sites))


@router.post("/users/{user_id}/tokens", response_model=TokenOut, status_code=status.HTTP_201_CREATED,
             responses=responses(401, 403, 404, 422))
def issue_token(user_id: str, body: NewToken, admin: Admin, flow: Flow) -> TokenOut:
    """Issue a token for a user or an integration; it is shown in this answer only."""
    valid = timedelta(days=body.valid_days) if body.valid_days else None
    token = flow.users.issue_token(admin.actor, user_id, body.label, valid_for=valid)
    return TokenOut(token=token.value, user_id=token.user_id, label=token.label, expires_at=token.expires_at)


@router.post("/users/{user_id}/tokens/revoke", response_model=Revoked, responses=responses(401, 403, 404))
def revoke_tokens(user_id: str, admin: Admin, flow: Flow) -> Revoked:
    """Revoke every token of a user (a lost laptop, a leaver)."""
    return Revoked(revoked=flow.users.revoke_tokens(admin.actor, user_id))


@router.put("/users/{user_id}/password", status_code=status.HTTP_204_NO_CONTENT,
            responses=responses(401, 403, 404, 422))
def set_password(user_id: str, body: PasswordIn, admin: Admin, flow: Flow) -> None:
    """Set a user's password by hand: an audited exception with a reason; the user must change it at first use."""
    flow.users.set_password(admin.actor, user_id, body.password, body.reason)
