"""The FastAPI application factory. No global engine: each app owns the resources its settings name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import create_engine, text

from api.settings import Settings
from definitions import check_paths


class Health(BaseModel):
    status: str
    database: str
    workflows_valid: int
    workflows_invalid: int


def _prepare_sqlite(url: str) -> None:
    """The embedded default keeps its file under a folder that may not exist yet on a fresh clone."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != "sqlite:///:memory:":
        Path(url[len(prefix):]).parent.mkdir(parents=True, exist_ok=True)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    _prepare_sqlite(settings.database_url)
    engine = create_engine(settings.database_url, pool_pre_ping=True)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
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
