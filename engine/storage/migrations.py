"""Bring a database's schema up to date with Alembic, so an existing database upgrades in place.

Revisions live in `engine/storage/alembic/versions/`. Several processes may start at once (uvicorn workers, a
worker beside the server): on PostgreSQL an advisory lock, on SQLite BEGIN IMMEDIATE, lets one migrate while the
others wait and then find nothing to do.

After an existing database is upgraded, the planner's statistics are refreshed (ANALYZE), so new indexes are
weighed with what the tables hold; SQLite's is sampled (`analysis_limit`), milliseconds even at a million rows.
A new database is not analysed: empty tables give no statistics, and SQLite's defaults suit a large practice better
than figures taken while it was empty. On SQLite every start also runs `PRAGMA optimize`, which analyses again only
where SQLite judges the statistics stale.

A service told not to migrate (its role does not own the tables) checks the revision instead (`require_current`).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from engine.storage.database import reading

SCRIPTS = Path(__file__).parent / "alembic"
_LOCK_KEY = 7_420_311_905  # any constant: the advisory lock PortalFlow's migrations take on PostgreSQL
_SQLITE_SAMPLE = 1000  # rows per index that SQLite's ANALYZE looks at


def _config(conn: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = conn
    return config


def _revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Upgrade to `revision`; answer the revisions before and after (None: an empty database)."""
    with db.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        before = _revision(conn)
        command.upgrade(_config(conn), revision)
        after = _revision(conn)
        refresh_statistics(conn, upgraded=before is not None and after != before)
    return before, after


class SchemaBehind(RuntimeError):
    """The database's schema is not the one this code needs, and this process was told not to migrate it."""


def require_current(db: Engine) -> None:
    """Refuse a schema other than this code's head, naming both revisions and the command that upgrades it."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    head = ScriptDirectory.from_config(config).get_current_head()
    with reading(db).connect() as conn:  # on SQLite a read: it waits for no writer
        current = _revision(conn)
    if current != head:
        raise SchemaBehind(f"the database is at schema revision {current or '(none: empty)'}, this PortalFlow "
                           f"needs {head}: run `portalflow db upgrade` (as the tables' owner), then start again")


def refresh_statistics(conn: Connection, *, upgraded: bool) -> None:
    """ANALYZE after an upgrade of a database in use; on SQLite `PRAGMA optimize` in any case."""
    sqlite = conn.dialect.name == "sqlite"
    if upgraded:
        if sqlite:
            conn.exec_driver_sql(f"PRAGMA analysis_limit={_SQLITE_SAMPLE}")
        conn.exec_driver_sql("ANALYZE")
    if sqlite:
        conn.exec_driver_sql("PRAGMA optimize")


def revision_autogenerate(db: Engine, message: str) -> None:
    """Designer-of-schema helper: write a new revision from the difference between tables.py and `db`."""
    with db.begin() as conn:
        command.revision(_config(conn), message=message, autogenerate=True)
