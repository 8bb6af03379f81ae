"""Import patients and guardians in batches, and say row by row what was created, updated, left unchanged or
rejected, and why (`engine.imports.report`).

A source (a CSV file, `engine.imports.csv_file`; a FHIR Bundle, `engine.imports.fhir_bundle`) is turned into
`ImportRow`s, or `Rejected` ones when a row cannot even be read. `run_import` then writes them the same way for
every source:

- Rows are written in batches of `batch`, one transaction each, so a large file neither holds one huge
  transaction open nor pays a commit per row. A batch also ends once it has held its transaction for `HOLD`
  (0.25 s): on SQLite a transaction holds the database's one write lock, and staff saving a change meanwhile wait
  for it (200 rows took 1.3 s at the measured 151 rows a second, and up to 5 s on a busy machine).
- Each row runs in its own savepoint: a bad row is rolled back alone (nothing of it is half-written: a patient
  whose new guardian is incomplete is not created either), is reported with where it is and which field, and the
  rest of the batch goes on.
- A patient id that exists already is rejected: an import adds people. Asked to update (`ImportOptions.update`),
  it corrects that patient instead, through the path staff's corrections take (`engine.imports.updates`).
- A dry run (`ImportOptions.dry_run`) is this same import in one transaction that is rolled back at the end:
  every check is the real one (the values, an id taken in the database or earlier in the file, households and
  their sites, what a correction would change) and nothing is written. One transaction, because a row may need
  an earlier one (a sibling joins the household its first row created). On SQLite that transaction would hold the
  database's write lock to its end: the front door runs a dry run on a snapshot there (`engine.imports.dry_runs`).

If the database itself fails, the import stops with that error; batches already committed stay. Running the same
file again is safe: what was imported is rejected as "already exists" (updating: left unchanged), and the rest
goes in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from engine.actors import ActorRef
from engine.clock import Clock
from engine.enrollments.intake import EventIntake
from engine.errors import AlreadyExists, InvalidInput, NotFound
from engine.imports.report import ImportReport, Rejected, Row, Updated
from engine.imports.updates import correct_from_row, updatable
from engine.people.demographics import check_changes
from engine.people.patients import NewHousehold, NewPatient, add_household_member, create_household, create_patient
from engine.people.walls import see_household, see_patient, see_site
from engine.storage.tables import households, patients

Now = Clock | Callable[[], datetime]
HOLD = 0.25  # seconds a batch's transaction may be held before it commits, whatever its number of rows
_SOURCE_LENGTH = 200  # of the import's name in a corrected patient's history


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """`dry_run`: check everything, write nothing. `update`: correct the patients who exist instead of rejecting
    their rows. `source`: how a corrected patient's history names this import ("import of nightly.csv")."""

    dry_run: bool = False
    update: bool = False
    source: str = "import"


JUST_IMPORT = ImportOptions()  # add the new people, reject the rows of people who exist, write it all


class Progress(Protocol):
    """Told how many rows a source holds (None: unknown) before the first, then once per row judged."""

    def begin(self, total: int | None) -> None: ...

    def advance(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Guardian:
    """The household a row's child joins; created from these names when no household has this id yet."""

    id: str
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class ImportRow:
    """What one row asks for: a patient to create (or correct), and/or a household for `child_id` (default: that
    patient). `number` is its place in the source: the CSV line it starts on, the Bundle entry's index.

    `names` says how the source calls our fields in a rejection: "patient.birth_date" -> "birthDate". A field
    not in it is named as we call it ("birth_date").
    """

    where: str
    patient: NewPatient | None = None
    guardian: Guardian | None = None
    child_id: str | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    number: int = 0


@dataclass(frozen=True, slots=True)
class _Run:
    """What every row of one import is written with."""

    actor: ActorRef
    options: ImportOptions
    intake: EventIntake | None
    progress: Progress | None


def run_import(db: Engine, clock: Now, actor: ActorRef, rows: Iterable[ImportRow | Rejected], *,
               batch: int = 200, options: ImportOptions = JUST_IMPORT, intake: EventIntake | None = None,
               unit: str = "line", progress: Progress | None = None, hold: float = HOLD) -> ImportReport:
    """Write `rows` in batches of `batch` rows, or fewer when a batch has held its transaction for `hold` seconds,
    each row in its own savepoint (a dry run: all in one transaction, rolled back); what was, or would be, created,
    updated, left unchanged and rejected.

    Updating needs `intake`, the event intake a correction goes through. `unit` is what a row's number counts.
    """
    if batch < 1:
        raise InvalidInput("batch", "must be at least 1")
    if options.update and intake is None:
        raise ValueError("an import that updates patients needs the event intake their corrections go through")
    now = clock if callable(clock) else clock.now
    run = _Run(actor, options, intake, progress)
    report = ImportReport(dry_run=options.dry_run, update=options.update, unit=unit)
    remaining = _Ahead(iter(rows))  # lazily: a source is read one row ahead of the database, never whole
    if options.dry_run:
        with db.connect() as conn:
            transaction = conn.begin()
            try:
                while remaining.more():
                    _write_batch(conn, now(), run, remaining, batch, None, report)
            finally:
                transaction.rollback()  # whatever happened: a dry run writes nothing
        return report
    while remaining.more():
        done = ImportReport()  # counted into the report only once its batch committed
        with db.begin() as conn:
            _write_batch(conn, now(), run, remaining, batch, hold, done)
        report.add(done)
    return report


class _Ahead:
    """An iterator that can say whether another row follows without losing it."""

    def __init__(self, rows: Iterator[ImportRow | Rejected]) -> None:
        self._rows, self._next = rows, next(rows, None)

    def more(self) -> bool:
        return self._next is not None

    def take(self) -> ImportRow | Rejected:
        row = self._next
        assert row is not None
        self._next = next(self._rows, None)
        return row


def _write_batch(conn: Connection, now: datetime, run: _Run, remaining: _Ahead, size: int, hold: float | None,
                 done: ImportReport) -> None:
    """Up to `size` rows from `remaining`, fewer if `hold` seconds (None: no limit) pass first; at least one."""
    began = time.monotonic()
    for written in range(size):
        if not remaining.more() or (written and hold is not None and time.monotonic() - began >= hold):
            return
        row = remaining.take()
        if isinstance(row, Rejected):
            done.rejected.append(row)
        else:
            _write_row(conn, now, run, row, done)
        if run.progress is not None:
            run.progress.advance()


def problem_of(bad: InvalidInput) -> str:
    """The problem alone, without the field the message starts with."""
    return str(bad).removeprefix(f"{bad.field}: ")


def parse_birth_date(raw: object, field_name: str) -> date | None:
    """A birth date from text (YYYY-MM-DD), by demographics' rule; None for no value."""
    if raw is None or raw == "":
        return None
    try:
        value = check_changes({"birth_date": raw}, where="row")["birth_date"]
    except InvalidInput as bad:
        raise InvalidInput(field_name, problem_of(bad)) from None
    assert isinstance(value, date)
    return value


# ----- one row --------------------------------------------------------------------------------------------------


class _RowProblem(Exception):
    def __init__(self, field_key: str | None, reason: str, *, existing: bool = False) -> None:
        super().__init__(reason)
        self.field_key, self.reason, self.existing = field_key, reason, existing


# Which field a missing thing was named by, per part of a row.
_MISSING = {("patient", "site"): "site_id", ("patient", "provider"): "pcp_id",
            ("guardian", "site"): "site_id", ("guardian", "patient"): "patient_id"}


@contextmanager
def _part(name: str) -> Iterator[None]:
    """Turn the engine's refusals for one part of a row ("patient", "guardian") into that row's problem."""
    try:
        yield
    except InvalidInput as bad:
        raise _RowProblem(f"{name}.{bad.field}", problem_of(bad)) from None
    except NotFound as missing:
        known = _MISSING.get((name, missing.what))
        raise _RowProblem(f"{name}.{known}" if known else None, str(missing)) from None
    except AlreadyExists as taken:
        raise _RowProblem(f"{name}.id", str(taken), existing=name == "patient") from None


def _write_row(conn: Connection, now: datetime, run: _Run, row: ImportRow, done: ImportReport) -> None:
    savepoint = conn.begin_nested()
    tally = ImportReport()
    try:
        _apply(conn, now, run, row, tally)
    except _RowProblem as problem:
        savepoint.rollback()
        done.rejected.append(Rejected(row.where, _source_name(row, problem.field_key), problem.reason))
        done.existing += problem.existing and not run.options.update  # updating would not help those
        return
    except IntegrityError:
        # Someone else wrote the same id between our check and our insert (PostgreSQL; SQLite has one writer).
        savepoint.rollback()
        done.rejected.append(Rejected(row.where, None, "another writer created the same person at the same "
                                                       "moment; nothing of this row was written"))
        return
    savepoint.commit()
    done.add(tally)


def _source_name(row: ImportRow, key: str | None) -> str | None:
    if key is None:
        return None
    return row.names.get(key, key.split(".", 1)[1])


def _apply(conn: Connection, now: datetime, run: _Run, row: ImportRow, tally: ImportReport) -> None:
    """Write the row, and put it in `tally` as created, updated or unchanged."""
    corrected: tuple[str, ...] = ()
    event = None
    if row.patient is not None:
        with _part("patient"):
            see_site(run.actor, row.patient.site_id, "site", row.patient.site_id)  # beyond the importer's walls: none
            if run.options.update and run.intake is not None and updatable(conn, run.actor, row.patient):
                reason = f"{_printable(run.options.source)}, {row.where}"
                correction = correct_from_row(conn, run.intake, now, run.actor, row.patient, reason)
                corrected, event = correction.changed, correction.event
            else:
                create_patient(conn, now, run.actor, row.patient)
                tally.patients_created += 1
    joined = False
    if row.guardian is not None:
        child = row.child_id or (row.patient.id if row.patient is not None else None)
        if child is None:
            raise _RowProblem(None, "no child to add to the guardian's household")
        with _part("guardian"):
            joined = _join_household(conn, now, run.actor, row.guardian, child, tally)
    changed = sorted(_source_name(row, f"patient.{name}") or name for name in corrected)
    if joined and row.patient is not None:
        changed.append(_source_name(row, "guardian.id") or "guardian")
    if tally.patients_created or (joined and row.patient is None):
        tally.created.append(Row(row.where, row.number))
    elif changed and row.patient is not None:
        acted = event if event is not None and event.startswith("acted") else None
        tally.updated.append(Updated(row.where, row.patient.id, tuple(changed), acted))
    else:
        tally.unchanged.append(Row(row.where, row.number))


def _printable(text: str) -> str:
    # A file's name comes from outside (an upload's): it must not break the history's lines.
    return "".join(c if c.isprintable() else "?" for c in text)[:_SOURCE_LENGTH]


def _join_household(conn: Connection, now: datetime, actor: ActorRef, guardian: Guardian, child: str,
                    tally: ImportReport) -> bool:
    """Put `child` in the guardian's household, creating it the first time; whether anything was written."""
    see_patient(conn, actor, child)
    known = conn.execute(select(households.c.id).where(households.c.id == guardian.id)).first() is not None
    if known:
        see_household(conn, actor, guardian.id)
        added = add_household_member(conn, now, actor, guardian.id, child)
        tally.members_added += added
        return added
    site = conn.execute(select(patients.c.site_id).where(patients.c.id == child)).scalar_one_or_none()
    if site is None:
        raise NotFound("patient", child)
    # Rows joining a household that exists need no names (siblings after the first); a new household does.
    for name, value in (("guardian_given_name", guardian.given_name), ("guardian_family_name", guardian.family_name)):
        if not value:
            raise InvalidInput(name, f"required: there is no household '{guardian.id}' yet, and a new one is named "
                                     "after its guardian")
    create_household(conn, now, actor, NewHousehold(
        id=guardian.id, site_id=site, guardian_given_name=guardian.given_name or "",
        guardian_family_name=guardian.family_name or "", guardian_email=guardian.email), members=(child,))
    tally.households_created += 1
    tally.members_added += 1
    return True
