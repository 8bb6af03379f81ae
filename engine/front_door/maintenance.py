"""The operator's database chores, for the CLI: upgrade the schema, back up and restore, set up PostgreSQL roles.

Each call opens its own engine on the URL it is given and closes it: these run before or beside the service, never
inside it. A backup is a new folder holding the database copy and the files kept outside the database that it is
useless without: every `*.key` of the keys folder (the outbox key sealing queued secrets, the PIN lookup key, the
audit anchor key) and the files named after the database beside it (its anchor log, `portalflow.db-anchors.jsonl`),
each mode 0600. Copied under the same names, and restored to the same places.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from engine.storage.backup import copy_database, sqlite_file
from engine.storage.database import make_engine
from engine.storage.migrations import SchemaBehind, upgrade
from engine.storage.roles import RoleReport, set_up_roles

__all__ = ["Copied", "NotSqlite", "SchemaBehind", "backup", "kept_files", "restore", "roles", "upgrade_schema"]

DATABASE_COPY = "portalflow.db"
_KEPT = ("*.key",)  # from the keys folder, beside the database in a backup
_COMPANIONS = "-*.jsonl"  # beside the database file and named after it: `portalflow.db-anchors.jsonl`


class NotSqlite(ValueError):
    """The database is not a SQLite file: PostgreSQL is backed up with pg_dump (the keys still by hand)."""

    def __init__(self, keys: tuple[Path, ...]) -> None:
        self.keys = keys
        super().__init__("this is not a SQLite database")


@dataclass(frozen=True, slots=True)
class Copied:
    database: Path
    keys: tuple[Path, ...]


def upgrade_schema(url: str) -> tuple[str | None, str | None]:
    """Run the migrations; answer the schema revisions before and after."""
    db = make_engine(url)
    try:
        return upgrade(db)
    finally:
        db.dispose()


def kept_files(keys_folder: Path) -> tuple[Path, ...]:
    return tuple(sorted({p for pattern in _KEPT for p in keys_folder.glob(pattern) if p.is_file()}))


def backup(url: str, keys_folder: Path, target: Path) -> Copied:
    """Copy the SQLite database (while it is in use) and its key files into the new folder `target`."""
    source = sqlite_file(url)
    if source is None:
        raise NotSqlite(kept_files(keys_folder))
    if not source.is_file():
        raise FileNotFoundError(f"no database at {source}")
    target.mkdir(mode=0o700, parents=True, exist_ok=False)  # never into an existing folder: nothing overwritten
    copy_database(source, target / DATABASE_COPY)
    companions = [(p, target / (DATABASE_COPY + p.name[len(source.name):])) for p in _companions(source)]
    kept = [(key, target / key.name) for key in kept_files(keys_folder)]
    return Copied(target / DATABASE_COPY, tuple(_copy_private(a, b) for a, b in (*kept, *companions)))


def restore(backup_folder: Path, url: str, keys_folder: Path) -> Copied:
    """Make the database `url` names and its key files from a backup; refuse if either is there already."""
    target = sqlite_file(url)
    if target is None:
        raise NotSqlite(kept_files(backup_folder))
    copy = backup_folder / DATABASE_COPY
    if not copy.is_file():
        raise FileNotFoundError(f"{backup_folder} holds no {DATABASE_COPY}: not a PortalFlow backup")
    pairs = [(key, keys_folder / key.name) for key in kept_files(backup_folder)]
    pairs += [(p, target.with_name(target.name + p.name[len(DATABASE_COPY):])) for p in _companions(copy)]
    there = [p for p in (target, *(b for _, b in pairs)) if p.exists()]
    if there:
        raise FileExistsError(f"{', '.join(map(str, there))} exist(s): a restore goes into a fresh place only")
    target.parent.mkdir(parents=True, exist_ok=True)
    keys_folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    copy_database(copy, target)
    return Copied(target, tuple(_copy_private(a, b) for a, b in pairs))


def roles(url: str, *, owner_role: str, app_role: str) -> RoleReport:
    db = make_engine(url)
    try:
        return set_up_roles(db, owner_role=owner_role, app_role=app_role)
    finally:
        db.dispose()


def _companions(database: Path) -> list[Path]:
    return sorted(p for p in database.parent.glob(database.name + _COMPANIONS) if p.is_file())


def _copy_private(source: Path, target: Path) -> Path:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out, source.open("rb") as data:
        shutil.copyfileobj(data, out)
        out.flush()
        os.fsync(out.fileno())
    return target
