"""Import patients and guardians in batches, and say what was created and which rows were rejected, and why.

A source (a CSV file, `engine.import_csv`; a FHIR Bundle, `engine.imports.fhir_bundle`) is turned into `ImportRow`s, or
`Rejected` ones when a row cannot even be read. `run_import` then writes them the same way for every source:

- Rows are written in batches of `batch`, one transaction each, so a large file neither holds one huge
  transaction open nor pays a commit per row.
- Each row runs in its own savepoint: a bad row is rolled back alone (nothing of it is half-written: a patient
  whose new guardian is incomplete is not created either), is reported with where it is and which field, and the
  rest of the batch goes on.
- A patient id that exists already is rejected, never updated: an import only adds people.

If the database itself fails, the import stops with that error; batches already committed stay. Running the same
file again is safe: what was imported is rejected as "already exists", and the rest goes in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from engine.actors import ActorRef
from engine.clock import Clock
from engine.errors import AlreadyExists, InvalidInput, NotFound
from engine.people.demographics import check_changes
from engine.people.patients import NewHousehold, NewPatient, add_household_member, create_household, create_patient
from engine.people.walls import see_household, see_patient, see_site
from engine.storage.tables import households, patients

Now = Clock | Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Rejected:
    """A row that was not imported: where it is ("line 4", "entry[3] (Patient/abc)"), the field if one, and why."""

    where: str
    field: str | None
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.reason}" if self.field else f"{self.where}: {self.reason}"


@dataclass
class ImportReport:
    patients_created: int = 0
    households_created: int = 0
    members_added: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (f"imported {self.patients_created} patient(s), {self.households_created} household(s); "
                f"rejected {len(self.rejected)} row(s)")

    def add(self, other: ImportReport) -> None:
        self.patients_created += other.patients_created
        self.households_created += other.households_created
        self.members_added += other.members_added
        self.rejected.extend(other.rejected)


@dataclass(frozen=True, slots=True)
class Guardian:
    """The household a row's child joins; created from these names when no household has this id yet."""

    id: str
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class ImportRow:
    """What one row asks for: a patient to create, and/or a household for `child_id` (default: that patient).

    `names` says how the source calls our fields in a rejection: "patient.birth_date" -> "birthDate". A field
    not in it is named as we call it ("birth_date").
    """

    where: str
    patient: NewPatient | None = None
    guardian: Guardian | None = None
    child_id: str | None = None
    names: Mapping[str, str] = field(default_factory=dict)


def run_import(db: Engine, clock: Now, actor: ActorRef, rows: Iterable[ImportRow | Rejected], *,
               batch: int = 200) -> ImportReport:
    """Write `rows` in batches of `batch` rows, each row in its own savepoint; what was created and rejected."""
    if batch < 1:
        raise InvalidInput("batch", "must be at least 1")
    now = clock if callable(clock) else clock.now
    report = ImportReport()
    for chunk in _chunks(rows, batch):
        done = ImportReport()  # counted into the report only once its batch committed
        with db.begin() as conn:
            for row in chunk:
                if isinstance(row, Rejected):
                    done.rejected.append(row)
                else:
                    _write_row(conn, now(), actor, row, done)
        report.add(done)
    return report


def _chunks(rows: Iterable[ImportRow | Rejected], size: int) -> Iterator[list[ImportRow | Rejected]]:
    # Lazily: a source is read one batch ahead of the database, never whole.
    remaining = iter(rows)
    while chunk := list(islice(remaining, size)):
        yield chunk


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
    def __init__(self, field_key: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field_key, self.reason = field_key, reason


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
        raise _RowProblem(f"{name}.id", str(taken)) from None


def _write_row(conn: Connection, now: datetime, actor: ActorRef, row: ImportRow, done: ImportReport) -> None:
    savepoint = conn.begin_nested()
    tally = ImportReport()
    try:
        _apply(conn, now, actor, row, tally)
    except _RowProblem as problem:
        savepoint.rollback()
        done.rejected.append(Rejected(row.where, _source_name(row, problem.field_key), problem.reason))
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


def _apply(conn: Connection, now: datetime, actor: ActorRef, row: ImportRow, tally: ImportReport) -> None:
    if row.patient is not None:
        with _part("patient"):
            see_site(actor, row.patient.site_id, "site", row.patient.site_id)  # beyond the importer's walls: none
            create_patient(conn, now, actor, row.patient)
        tally.patients_created += 1
    if row.guardian is not None:
        child = row.child_id or (row.patient.id if row.patient is not None else None)
        if child is None:
            raise _RowProblem(None, "no child to add to the guardian's household")
        with _part("guardian"):
            _join_household(conn, now, actor, row.guardian, child, tally)


def _join_household(conn: Connection, now: datetime, actor: ActorRef, guardian: Guardian, child: str,
                    tally: ImportReport) -> None:
    see_patient(conn, actor, child)
    known = conn.execute(select(households.c.id).where(households.c.id == guardian.id)).first() is not None
    if known:
        see_household(conn, actor, guardian.id)
        tally.members_added += add_household_member(conn, now, actor, guardian.id, child)
        return
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
