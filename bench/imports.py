"""How fast `portalflow import` loads a practice, in each mode, and how long it holds SQLite's write lock.

    python -m bench.imports [--rows 20000] [--database-url URL] [--dir DIR]

Untimed: a new database (a SQLite file on the disk unless `--database-url` names another, e.g. PostgreSQL) with
one site and its PCP, and a CSV export of N patients as an EHR writes one: every field filled, one patient in
four a child sharing a guardian with one or two siblings. Timed, through the engine's front door as the command
calls it: a dry run of the file; the import; the same file again with `--update` (every row unchanged); a file
where one patient in a hundred has a new email address and zip code, with `--update` (each correction goes
through event intake and may start an invite). Each pass: rows per second, and the longest a small write of the
service waited meanwhile (another thread writes one row every 50 ms, as the service's requests would: an import
holds SQLite's write lock one batch at a time; a dry run on SQLite runs on a snapshot and holds it not at all).
Last line: one JSON object (`bench.summary`).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from sqlalchemy import Engine, update

from bench.summary import print_summary
from definitions.model import Actor
from engine.actors import ActorRef
from engine.bootstrap import build
from engine.imports.batches import ImportOptions
from engine.imports.report import ImportReport
from engine.storage.database import is_sqlite
from engine.storage.tables import providers, sites

WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"
IMPORTER = ActorRef("import", "integration", Actor.INTEGRATION)
HEADER = ("patient_id,site_id,given_name,family_name,birth_date,birth_sex,zip,email,cell_phone,pcp_id,"
          "guardian_id,guardian_given_name,guardian_family_name,guardian_email")


def export(rows: int, changed_every: int = 0) -> str:
    """An EHR's export of `rows` patients; with `changed_every`, that one patient in so many moved house."""
    lines = [HEADER]
    for n in range(rows):
        moved = changed_every and n % changed_every == 0
        zip_code, email = ("02144", f"p{n}.new@example.test") if moved else ("02139", f"p{n}@example.test")
        family = f"Family{n // 4}"
        child = n % 4 != 0  # three children per guardian, after one adult
        guardian = f"g-{n // 4},Gus,{family},gus{n // 4}@example.test" if child else ",,,"
        born = f"20{10 + n % 8}-0{1 + n % 9}-1{n % 10}" if child else f"19{50 + n % 40}-0{1 + n % 9}-2{n % 8}"
        lines.append(f"mrn-{n},main,Pat{n},{family},{born},{'FM'[n % 2]},{zip_code},{email},617-555-{n % 10000:04},"
                     f"dr-pcp,{guardian}")
    return "\n".join(lines) + "\n"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.imports", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20000, help="patients in the export (default 20000)")
    parser.add_argument("--database-url", help="an empty database to use (default: a new SQLite file)")
    parser.add_argument("--dir", type=Path, default=None, help="folder for the SQLite file and the key files")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="bench-imports-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{folder / 'imports.db'}"
    flow = build(url, WORKFLOWS, key_file=folder / "outbox.key", mail_folder=folder / "mail")
    with flow.db.begin() as conn:
        conn.execute(sites.insert().values(id="main", name="Bench Practice", timezone="America/New_York",
                                           portal_url="https://portal.example.test", phone="(617) 555-0100",
                                           specialist_office=False))
        conn.execute(providers.insert().values(id="dr-pcp", name="Dr. Pat Primary"))
    first, corrected = export(args.rows), export(args.rows, changed_every=100)
    passes: list[tuple[str, str, ImportOptions]] = [
        ("dry run", first, ImportOptions(dry_run=True)),
        ("import", first, ImportOptions()),
        ("update, nothing changed", first, ImportOptions(update=True)),
        ("update, 1 % changed", corrected, ImportOptions(update=True)),
    ]
    figures: dict[str, dict[str, float]] = {}
    try:
        for name, text, options in passes:
            report, seconds, waited = _timed(flow.db, partial(flow.imports.csv, IMPORTER, text, options=options))
            print(f"{name:<24} {args.rows / seconds:6.0f} rows/s  ({seconds:.1f} s; a service write waited at most "
                  f"{1000 * waited:.0f} ms): {report.summary()}")
            figures[name] = {"rows_per_s": args.rows / seconds, "write_wait_ms": 1000 * waited}
    finally:
        flow.close()
    print_summary("imports", {"rows": args.rows, "database": "sqlite" if is_sqlite(url) else "other", **figures})


def _timed(db: Engine, run: Callable[[], ImportReport]) -> tuple[ImportReport, float, float]:
    """What `run` answered, how long it took, and the longest a small write waited while it ran."""
    waits: list[float] = []
    done = threading.Event()

    def service_writes() -> None:
        while not done.wait(0.05):
            began = time.perf_counter()
            with db.begin() as conn:
                conn.execute(update(sites).where(sites.c.id == "main").values(phone="(617) 555-0100"))
            waits.append(time.perf_counter() - began)

    writer = threading.Thread(target=service_writes, daemon=True)
    writer.start()
    began = time.perf_counter()
    try:
        report = run()
    finally:
        seconds = time.perf_counter() - began
        done.set()
        writer.join()
    return report, seconds, max(waits, default=0.0)


if __name__ == "__main__":
    main()
