"""The FastAPI application factory. No global engine: each app owns the resources its settings name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import text

from api.runtime import background_jobs, build_flow
from api.settings import Settings
from definitions import check_paths
from engine.storage.database import make_engine
from engine.storage.migrations import upgrade


class Health(BaseModel):
    status: str
    database: str
    workflows_valid: int
    workflows_invalid: int


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    engine = make_engine(settings.database_url)
    upgrade(engine)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        jobs = None
        if settings.background:  # every process sweeps; the database claims keep each firing single
            jobs = background_jobs(build_flow(settings), settings)
            jobs.start()
        try:
            yield
        finally:
            if jobs is not None:
                jobs.shutdown()
            engine.dispose()

    app = FastAPI(title="PortalFlow", version="0.1.0", lifespan=lifespan,
                  description="Patient-portal enrollment orchestrator.")

    @app.get("/health", response_model=Health, tags=["operations"])
    def health() -> dict[str, Any]:
        """Liveness and readiness: the database answers and the workflows folder validates."""
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        results = check_paths([settings.workflows_dir]) if settings.workflows_dir.is_dir() else []
        valid = sum(1 for r in results if r.outcome.definition is not None)
        return {"status": "ok", "database": engine.dialect.name, "workflows_valid": valid,
                "workflows_invalid": len(results) - valid}

    return app
