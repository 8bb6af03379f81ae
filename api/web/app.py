"""Put the pages on the app: their routes, the session's redirects, the assets, and the offline API reference."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from api.web import offline_docs, responses
from api.web.pages import admin, audit, enrollments, home, onboarding, patients, sign_in, workflows
from api.web.static_files import Assets


def install(app: FastAPI) -> None:
    responses.install(app)
    offline_docs.install(app)
    app.mount("/static", Assets(), name="static")
    for module in (sign_in, home, patients, enrollments, onboarding, audit, workflows, admin):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        """The address staff type: the pages (under /app; the API keeps its own paths)."""
        return RedirectResponse("/app/home", status_code=303)
