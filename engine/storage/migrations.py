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

Alembic is imported only when there is something to do: a database already at `HEAD` (every start but the first
after an upgrade) is recognised by one query, and the worker never loads Alembic, Mako and Pygments (~7 MiB of
each worker's memory). `HEAD` must name the newest revision; a test compares it with Alembic's own answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from engine.storage.database import reading

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPTS = Path(__file__).parent / "alembic"
HEAD = "0016"  # the newest revision under alembic/versions/
_LOCK_KEY = 7_420_311_905  # any constant: the advisory lock PortalFlow's migrations take on PostgreSQL
_SQLITE_SAMPLE = 1000  # rows per index that SQLite's ANALYZE looks at


def _config(conn: Connection) -> Config:
    from alembic.config import Config  # only when there is something to migrate

    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = conn
    return config


def _revision(conn: Connection) -> str | None:
    """The revision stored in `alembic_version` (what Alembic's MigrationContext reads), None in an empty database."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    stored = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    if len(stored) > 1:
        raise RuntimeError(f"alembic_version holds {len(stored)} revisions ({', '.join(stored)}): one was expected")
    return stored[0] if stored else None


def upgrade(db: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Upgrade to `revision`; answer the revisions before and after (None: an empty database)."""
    with db.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        before = _revision(conn)
        if before == HEAD and revision in ("head", HEAD):
            refresh_statistics(conn, upgraded=False)
            return before, before
        from alembic import command  # lazily: see the module docstring

        command.upgrade(_config(conn), revision)
        after = _revision(conn)
        refresh_statistics(conn, upgraded=before is not None and after != before)
    return before, after


class SchemaBehind(RuntimeError):
    """The database's schema is not the one this code needs, and this process was told not to migrate it."""


def require_current(db: Engine) -> None:
    """Refuse a schema other than this code's head, naming both revisions and the command that upgrades it."""
    head = HEAD
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
    from alembic import command  # lazily: see the module docstring

    with db.begin() as conn:
        command.revision(_config(conn), message=message, autogenerate=True)
