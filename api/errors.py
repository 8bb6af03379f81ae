"""One error shape for every answer that is not a success, and the one mapper from engine errors to it.

    {"error": {"code": "refused", "message": "...", "field": null, "reasons": [...], "current": null}}

`code` is for programs, `message` for people, `field` names the input at fault (dotted, e.g. `body.birth_date`),
`reasons` lists every guard that said no, `current` is the enrollment as it is now after a conflict. No stack trace
ever reaches a client: an unexpected error is logged here with an id and answered 500 with that id.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from definitions.errors import PortalFlowError
from engine.errors import (
    AlreadyExists,
    AuthenticationFailed,
    Conflict,
    CredentialRefused,
    EffectFailed,
    InvalidInput,
    NotAllowed,
    NotFound,
    Refused,
)

log = logging.getLogger("portalflow.api")


class CurrentState(BaseModel):
    enrollment_id: str
    state: str
    status: str
    version: int


class ErrorDetail(BaseModel):
    code: str = Field(examples=["refused"])
    message: str = Field(examples=["refused: the patient has no email address on file"])
    field: str | None = Field(default=None, examples=["body.birth_date"])
    reasons: list[str] = Field(default_factory=list)
    current: CurrentState | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    """An error the API itself raises (authorisation, a missing header): status, code, message, field."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field, self.headers = status, code, message, field, headers


def error_response(status: int, code: str, message: str, *, field: str | None = None,
                   reasons: Sequence[str] = (), current: CurrentState | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=code, message=message, field=field, reasons=list(reasons),
                                       current=current))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


# Documented on every route that can answer them, so the OpenAPI schema says what a client must handle.
def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    words = {400: "The request cannot be used", 401: "No valid credential", 403: "The role may not do this",
             404: "No such resource", 409: "Changed meanwhile, or already exists", 422: "Invalid input or refused",
             413: "The body is too large", 415: "Unsupported Content-Type"}
    return {s: {"model": ErrorBody, "description": words.get(s, "Error")} for s in statuses}


def _field_of(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc)


def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    field = _field_of(first.get("loc", ()))
    reasons = [f"{_field_of(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in errors]
    return error_response(422, "invalid_request", f"{field}: {first.get('msg', 'invalid')}", field=field or None,
                          reasons=reasons)


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # FastAPI could not read the body at all (e.g. not UTF-8): as bad JSON, a 422
        return error_response(422, "invalid_request", f"body: {exc.detail}", field="body")
    codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated", 403: "forbidden"}
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return error_response(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail),
                          headers=headers or None)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of this path answers: Starlette's 405 names only the first route's methods, though a
    path often has several routes (GET and POST as two handlers). Each method is asked of every route through
    `matches`, the routers' public test, so included routers answer for their own routes."""
    routes = request.app.router.routes
    return [m for m in _METHODS
            if any(route.matches({**request.scope, "method": m})[0] is Match.FULL for route in routes)]

def _api(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, field=exc.field, headers=exc.headers)


def _engine(_: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, NotFound):
        return error_response(404, "not_found", str(exc))
    if isinstance(exc, AlreadyExists):
        return error_response(409, "already_exists", str(exc), field="id")
    if isinstance(exc, Conflict):
        current = CurrentState(enrollment_id=exc.enrollment_id, state=exc.state, status=exc.status,
                               version=exc.current)
        return error_response(409, "conflict", str(exc), current=current)
    if isinstance(exc, Refused):
        return error_response(422, "refused", str(exc), reasons=exc.reasons)
    if isinstance(exc, InvalidInput):
        return error_response(422, "invalid_input", str(exc), field=exc.field)
    if isinstance(exc, NotAllowed):
        return error_response(422, "not_allowed", str(exc))
    if isinstance(exc, CredentialRefused):  # one answer for every failure: the portal's caller learns nothing
        return error_response(400, "credential_refused", str(exc))
    if isinstance(exc, AuthenticationFailed):
        return error_response(401, "unauthenticated", str(exc), headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, EffectFailed):
        return error_response(500, "effect_failed", str(exc))
    return _unexpected(_, exc)


REQUEST_ID_KEY = "portalflow.request_id"  # set in the ASGI scope by api.observability.requests


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    incident = uuid.uuid4().hex[:12]
    # The exception's text may carry a value from the request; the log keeps only its type and the incident.
    log.error("incident %s: unexpected %s", incident, type(exc).__name__, exc_info=exc)
    answer = error_response(500, "internal", f"something went wrong on our side; incident {incident}")
    # Starlette answers a 500 outside every middleware, so the request id is put on it here, from the scope the
    # request observation shares with this handler.
    rid = request.scope.get(REQUEST_ID_KEY)
    if isinstance(rid, str):
        answer.headers["X-Request-ID"] = rid
    return answer


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(ApiError, _api)
    app.add_exception_handler(PortalFlowError, _engine)
    app.add_exception_handler(Exception, _unexpected)
