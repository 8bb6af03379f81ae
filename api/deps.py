"""Request dependencies as `Annotated` aliases: the engine of this app, the acting user, and who may do what.

Roles: `staff` run enrollments and see patients; `designer` reads workflows; `auditor` reads everything and
changes nothing; `admin` does all of that and manages users, sites and imports; `integration` is the credential of
the EHR feed and the portal, and may only call their endpoints (and import patients).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import WithJsonSchema
from starlette.concurrency import run_in_threadpool

from api.errors import ApiError
from engine.front_door.flow import PortalFlow
from engine.people.identity import User

_bearer = HTTPBearer(auto_error=False, description="A token from `portalflow user token` or POST /auth/login")


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` one in the threadpool, a hop that costs
# more than the work (bench/api_load.py, bench/advance_profile.py).
async def get_flow(request: Request) -> PortalFlow:
    flow: PortalFlow = request.app.state.flow
    return flow


Flow = Annotated[PortalFlow, Depends(get_flow)]


async def _authenticated(flow: Flow,
                         credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise ApiError(401, "unauthenticated", "send a token as 'Authorization: Bearer <token>'",
                       headers={"WWW-Authenticate": "Bearer"})
    token = credentials.credentials
    # A token recognised a moment ago is known from memory, here on the event loop; only a lookup that reads the
    # database goes to the threadpool, as a plain `def` dependency would.
    known = flow.users.recognised(token)
    return known if known is not None else await run_in_threadpool(flow.users.authenticate, token)


AnyUser = Annotated[User, Depends(_authenticated)]


async def _bearer_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str | None:
    return credentials.credentials if credentials is not None else None


BearerToken = Annotated[str | None, Depends(_bearer_token)]


async def reader_by_hand(request: Request, flow: PortalFlow) -> User:
    """`Reader` for a hand-resolved route (api/hand_resolved.py): its dependencies, called in FastAPI's order."""
    return await may_read(await _authenticated(flow, await _bearer(request)))


def requires(*roles: str) -> Callable[[User], Awaitable[User]]:
    allowed = ", ".join(roles)

    async def check(user: AnyUser) -> User:
        if user.must_change_password:
            raise ApiError(403, "password_change_required",
                           "your password was set by an admin: change it first (POST /auth/password)")
        if user.role not in roles:
            raise ApiError(403, "forbidden", f"role '{user.role}' may not do this; it needs one of: {allowed}")
        return user

    return check


may_read = requires("staff", "designer", "auditor", "admin")
Staff = Annotated[User, Depends(requires("staff", "admin"))]
Reader = Annotated[User, Depends(may_read)]
WorkflowReader = Annotated[User, Depends(requires("staff", "designer", "auditor", "admin"))]
Auditor = Annotated[User, Depends(requires("auditor", "admin"))]
Designer = Annotated[User, Depends(requires("designer", "admin"))]
Admin = Annotated[User, Depends(requires("admin"))]
Integration = Annotated[User, Depends(requires("integration"))]
Importer = Annotated[User, Depends(requires("admin", "integration"))]


_IF_MATCH = 'The enrollment version you acted on, as its ETag: `"3"` (or `W/"3"`, or 3)'
# Documented, not enforced by Pydantic: the check below answers in its own words, naming the header. The header
# may be left out, but when sent it is text, never null: the schema says so.
_VERSION_TAG = '^(W/)?"[0-9]+"$|^[0-9]+$'


async def expected_version(if_match: Annotated[str | None, Header(description=_IF_MATCH), WithJsonSchema(
        {"type": "string", "pattern": _VERSION_TAG})] = None) -> int | None:
    if if_match is None:
        return None
    text = if_match.strip()
    text = text[2:] if text.startswith("W/") else text
    text = text.strip('"')
    if not text.isdigit():
        raise ApiError(422, "invalid_request", f"If-Match {if_match!r} is not an enrollment version such as \"3\"",
                       field="header.If-Match")
    return int(text)


IfMatch = Annotated[int | None, Depends(expected_version)]


def client_address(request: Request) -> str | None:
    """The caller's network address as the service saw it: behind a proxy on this host, the client's (uvicorn
    trusts X-Forwarded-For from 127.0.0.1; FORWARDED_ALLOW_IPS names a proxy elsewhere)."""
    return request.client.host if request.client else None
