"""`portalflow backup|restore`: a SQLite database copied while the service runs, with the key files it needs, into
a new folder; and that folder made into the database and keys of a fresh installation."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from api.cli.opening import require_database, settings_for
from engine.front_door.maintenance import NotSqlite, backup, restore


def run_backup(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    try:
        require_database(settings)
        copied = backup(settings.database_url, settings.key_file.parent, Path(args.folder))
    except NotSqlite as postgres:
        print("error: this database is PostgreSQL: back it up with pg_dump (e.g. `pg_dump -Fc -f portalflow.dump "
              "DBNAME`), and copy these files with it, kept as secret as the dump:", file=sys.stderr)
        for key in postgres.keys:
            print(f"  {key}", file=sys.stderr)
        return 2
    except (FileExistsError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"database copied to {copied.database}")
    for key in copied.keys:
        print(f"key file copied to {key}")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    try:
        copied = restore(Path(args.folder), settings.database_url, settings.key_file.parent)
    except NotSqlite:
        print("error: restore makes a SQLite database; for PostgreSQL use pg_restore, then copy the backup's key "
              f"files into {settings.key_file.parent}", file=sys.stderr)
        return 2
    except (FileExistsError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"database restored to {copied.database}")
    for key in copied.keys:
        print(f"key file restored to {key}")
    return 0
