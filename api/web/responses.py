"""How a page answers: a template rendered with the session (for the menu and the CSRF token), the redirects of
the session's exceptions, and an engine error shown as a page in staff words instead of the API's JSON."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from api.web.session import CsrfRefused, PageForbidden, PasswordChangeNeeded, Session, SignInNeeded, sign_in_url
from api.web.templating import templates
from definitions.errors import RuntimeFailure
from engine.errors import NotFound


def render(request: Request, template: str, session: Session | None, status_code: int = 200,
           **values: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, template, {"session": session, **values}, status_code=status_code)


def go(request: Request, url: str) -> Response:
    """Redirect after a form (303, so the browser GETs the next page); an htmx request is told to navigate."""
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def problem(request: Request, status_code: int, title: str, message: str) -> HTMLResponse:
    return render(request, "problem.html", None, status_code, title=title, message=message)


class PageRoute(APIRoute):
    """A page route: an engine error it did not handle itself becomes a page saying what went wrong."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except NotFound as missing:
                return problem(request, 404, "Not found", f"There is no {missing.what} '{missing.ident}'.")
            except RuntimeFailure as failure:
                return problem(request, 422, "That could not be done", str(failure))

        return handle


def install(app: FastAPI) -> None:
    @app.exception_handler(SignInNeeded)
    async def to_sign_in(request: Request, exc: SignInNeeded) -> Response:
        url = sign_in_url(exc.next_path if request.method == "GET" else "/app/home")
        if exc.why:
            url += "&why=ended"
        return go(request, url)

    @app.exception_handler(PasswordChangeNeeded)
    async def to_password(request: Request, exc: PasswordChangeNeeded) -> Response:
        return go(request, "/app/password")

    @app.exception_handler(PageForbidden)
    async def forbidden(request: Request, exc: PageForbidden) -> Response:
        return problem(request, 403, "Not for your role",
                       f"This page is for {' or '.join(exc.allowed)} users; you are signed in as {exc.role}.")

    @app.exception_handler(CsrfRefused)
    async def csrf(request: Request, exc: CsrfRefused) -> Response:
        return problem(request, 403, "The form has expired",
                       "This form was not sent from a page of this session (it may be old, or from another "
                       "site). Nothing was changed: go back, reload the page and try again.")
