"""Take a test database back to an earlier revision, as Alembic's own command does (engine/storage/migrations.py
only upgrades: PortalFlow never downgrades a database itself). For the tests that check a revision's downgrade."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from engine.storage.migrations import SCRIPTS


def downgrade(db: Engine, revision: str) -> None:
    with db.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(SCRIPTS))
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
