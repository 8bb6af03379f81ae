"""Settings read once from the environment, with defaults that run on a fresh machine (embedded SQLite)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///var/portalflow.db"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    workflows_dir: Path

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("PORTALFLOW_DATABASE_URL", DEFAULT_DATABASE_URL),
            workflows_dir=Path(os.environ.get("PORTALFLOW_WORKFLOWS", "workflows")),
        )
