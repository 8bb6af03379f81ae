"""Bring a database's schema up to date with Alembic, so an existing database upgrades in place.

Revisions live in `engine/storage/alembic/versions/`. Several processes may start at once (uvicorn workers, a
worker beside the server): on PostgreSQL an advisory lock, on SQLite BEGIN IMMEDIATE, lets one migrate while the
others wait and then find nothing to do.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text

SCRIPTS = Path(__file__).parent / "alembic"
_LOCK_KEY = 7_420_311_905  # any constant: the advisory lock PortalFlow's migrations take on PostgreSQL


def _config(conn: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = conn
    return config


def upgrade(db: Engine, revision: str = "head") -> None:
    with db.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        command.upgrade(_config(conn), revision)


def revision_autogenerate(db: Engine, message: str) -> None:
    """Designer-of-schema helper: write a new revision from the difference between tables.py and `db`."""
    with db.begin() as conn:
        command.revision(_config(conn), message=message, autogenerate=True)
