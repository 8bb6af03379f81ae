"""Copy a SQLite database while the service runs, with SQLite's online backup API, and restore such a copy.

Why the backup API and not `cp`: in WAL mode the newest commits may still be in `portalflow.db-wal`, and a file
copied while a writer works can be torn. `sqlite3.Connection.backup` copies every page of one consistent snapshot
(readers never block the writer in WAL mode), and the copy is a single self-contained file. PostgreSQL has its own
tools (`pg_dump`); nothing here runs against it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names; None for PostgreSQL or an in-memory database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def copy_database(source: Path, target: Path) -> None:
    """Copy `source` page by page into the new file `target` (mode 0600: it holds personal data)."""
    if target.exists():
        raise FileExistsError(f"{target} exists: a backup never overwrites a file")
    # Opened read-only through a URI, so a mistyped source is an error instead of a new empty database.
    with sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True) as reader:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        writer = sqlite3.connect(target)
        try:
            reader.backup(writer)
            # The copy is standalone: one file, no -wal beside it, readable by any SQLite tool.
            writer.execute("PRAGMA journal_mode=DELETE")
            check = writer.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            writer.close()
    reader.close()
    if check != "ok":
        raise RuntimeError(f"the copy {target} failed SQLite's integrity check: {check}")
