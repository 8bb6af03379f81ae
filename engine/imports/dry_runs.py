"""Where a dry run runs, so that checking a file never holds up the service.

A dry run is the real import, whose writes do not stay. On PostgreSQL it runs in one transaction that is rolled
back at the end (`engine.imports.batches`): no one waits for it but a writer of a patient it corrects. On SQLite
one write transaction would hold the database's only write lock until it ends: a dry run of 20,000 rows takes a
minute or more, and every write of the service (a patient registering with a PIN, staff at work, the sweep) would
wait for it. So on SQLite a dry run runs on a snapshot instead: SQLite's online backup copies the database into a
private folder beside it (as `portalflow backup` does, while the service goes on writing), the import runs there
as it would on the database, batch by batch, and the folder is removed, whatever happened. It needs the
database's size again on that disk while it runs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from engine.imports.batches import ImportOptions
from engine.imports.report import ImportReport
from engine.storage.backup import copy_database, sqlite_file
from engine.storage.database import make_engine

Importer = Callable[[Engine, ImportOptions], ImportReport]


def dry_run(db: Engine, options: ImportOptions, run: Importer) -> ImportReport:
    """`run(database, options)` as a dry run of `options` on `db`: nothing it writes stays in `db`."""
    path = sqlite_file(db.url.render_as_string(hide_password=False))
    if path is None:
        return run(db, replace(options, dry_run=True))
    with _snapshot(path) as copy:
        report = run(copy, replace(options, dry_run=False))  # the import itself, on a copy then thrown away
    report.dry_run = True
    return report


@contextmanager
def _snapshot(path: Path) -> Iterator[Engine]:
    # Beside the database: the same disk and the same protection (the folder is the owner's only: mode 0700).
    with tempfile.TemporaryDirectory(prefix=".dry-run-", dir=path.parent) as folder:
        copy = Path(folder) / path.name
        copy_database(path, copy)
        snapshot = make_engine(f"sqlite:///{copy}")

        @event.listens_for(snapshot, "connect")
        def _no_flush(dbapi_connection: Any, _record: Any) -> None:
            # After make_engine's own settings: a copy that is thrown away needs no commit to reach the disk.
            dbapi_connection.execute("PRAGMA synchronous=OFF")

        try:
            yield snapshot
        finally:
            snapshot.dispose()
