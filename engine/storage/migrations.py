"""Bring a database's schema up to date.

Until the first Alembic revision lands, the schema is created from the table definitions (idempotent:
existing tables are left as they are).
"""

from __future__ import annotations

from sqlalchemy import Engine

from engine.storage.tables import metadata


def upgrade(db: Engine) -> None:
    metadata.create_all(db)
