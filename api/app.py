"""The FastAPI application factory. No global engine: each app owns the resources its settings name.

`create_app(settings)` builds the engine (`api.runtime.build_flow`); tests pass a `flow` built with a fake clock.
Every answer carries the headers of `api.headers` (`Cache-Control: no-store` among them) and an `X-Request-ID`;
every process logs JSON lines (`api.observability.logs`) and serves `/metrics` (`api.observability.metrics`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field

from api import errors
from api.collector import release_startup_objects, set_aside_startup_objects
from api.headers import StandardHeaders
from api.malloc_arenas import limit_malloc_arenas
from api.nul_characters import refuse_nul_characters
from api.observability import logs, metrics
from api.observability.requests import RequestObservation
from api.routes import audit, enrollments, imports, integration, people, practice, users, workflows, worklists
from api.runtime import build_flow
from api.settings import Settings
from api.web import app as web
from engine.front_door.flow import PortalFlow

DESCRIPTION = """Patient-portal enrollment orchestrator.

Authenticate with `Authorization: Bearer <token>`: tokens come from `portalflow user create` / `portalflow user
token` (see the README) or `POST /auth/login`. Every error has one shape: `{"error": {"code", "message", "field",
"reasons", "current"}}`. No text anywhere (path, query, body) may hold the NUL character (U+0000): it is refused
with 422 naming the field.
"""

TAGS = [
    {"name": "users", "description": "Log in, users, tokens and passwords."},
    {"name": "practice", "description": "Sites, their calendars, and providers."},
    {"name": "people", "description": "Patients and households."},
    {"name": "enrollments", "description": "Start, read and advance enrollments through their guided steps."},
    {"name": "worklists", "description": "What needs doing today, and bulk onboarding."},
    {"name": "imports", "description": "Patients and guardians from CSV or a FHIR R4 Bundle."},
    {"name": "workflows", "description": "The published workflows and their diagrams."},
    {"name": "integration", "description": "EHR events and portal callbacks (integration credential)."},
    {"name": "audit", "description": "Histories: find, export, verify (auditors)."},
    {"name": "operations", "description": "Health of the service."},
]


class LeftOutOut(BaseModel):
    file: str = Field(examples=["workflows/nextgen-pxp-portal-invites.yaml"])
    problems: list[str] = Field(description="each as path:line:col: message")


class Health(BaseModel):
    status: str = Field(description="ok, or degraded when a workflow file was left out")
    database: str
    workflows_valid: int = Field(description="workflow versions this service runs (every one published)")
    workflows_invalid: int = Field(description="workflow files left out")
    left_out: list[LeftOutOut] = Field(description="each file left out, and why")


def create_app(settings: Settings | None = None, flow: PortalFlow | None = None) -> FastAPI:
    limit_malloc_arenas()  # before the request threads start: see api/malloc_arenas.py
    logs.configure()  # first: building the flow logs the workflows it leaves out
    settings = settings or Settings.from_env()
    flow = flow or build_flow(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        logs.log_startup(flow)
        jobs = None
        if settings.background:  # every process sweeps; the database claims keep each firing single
            jobs = flow.background_jobs(settings.sweep_seconds)
            jobs.start()
        set_aside_startup_objects()  # last: see api/collector.py
        try:
            yield
        finally:
            if jobs is not None:
                jobs.shutdown()
            observed.database.audit.wait(timeout=60)  # a verification under way reads the database being closed
            flow.close()
            release_startup_objects()

    app = FastAPI(title="PortalFlow", version="0.1.0", lifespan=lifespan, description=DESCRIPTION,
                  openapi_tags=TAGS, docs_url=None, redoc_url=None,
                  dependencies=[Depends(refuse_nul_characters)])
    app.state.flow = flow
    errors.install(app)
    # FastAPI tries routes in order, a few microseconds each (about 0.1 ms for the ~40 that stood before an
    # enrollment read): the busiest first, the enrollments and the worklists, then the rest of the API, then the
    # pages. No two of these routers have a path in common (the pages live under /app), so the order changes only
    # how soon a request finds its route (and the order of the paths in /openapi.json; /docs groups them by tag).
    for module in (enrollments, worklists, people, users, practice, workflows, integration, imports, audit):
        app.include_router(module.router)
    web.install(app)

    app.add_middleware(StandardHeaders)
    observed = metrics.install(app, flow, settings.sweep_seconds)
    app.add_middleware(RequestObservation, metrics=observed)  # outermost: its id is on every line of the request

    @app.get("/health", response_model=Health, tags=["operations"])
    def health() -> dict[str, Any]:
        """Liveness and readiness: the database answers; "degraded", naming each file and why, when a workflow
        file was left out (invalid, or a published version changed without raising `version`)."""
        database = flow.database_answers()
        left_out = flow.catalog.left_out
        return {"status": "degraded" if left_out else "ok", "database": database,
                "workflows_valid": len(flow.catalog.all()), "workflows_invalid": len(left_out),
                "left_out": [{"file": x.path, "problems": list(x.problems)} for x in left_out]}

    return app
