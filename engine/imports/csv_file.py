"""Import patients and guardians from a CSV file: one patient per row, siblings sharing a guardian_id.

The header row names the columns, in any order; a column we do not know is refused before anything is written
(a misspelt "e-mail" would otherwise drop every address silently). Blank cells are no value (updating a patient,
they leave the field as it is). A row with guardian columns puts its patient in the household `guardian_id`,
created by the first row naming it (the guardian's names are required there), joined by the next ones in row
order. Rows are written by `engine.imports.batches.run_import`; a rejected row is named "line N", the line of the
file it starts on.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from sqlalchemy import Engine

from engine.actors import ActorRef
from engine.enrollments.intake import EventIntake
from engine.errors import InvalidInput
from engine.imports.batches import (
    HOLD,
    JUST_IMPORT,
    Guardian,
    ImportOptions,
    ImportRow,
    Now,
    Progress,
    parse_birth_date,
    problem_of,
    run_import,
)
from engine.imports.report import ImportReport, Rejected
from engine.people.patients import NewPatient

if TYPE_CHECKING:
    from _csv import Reader

COLUMNS = ("patient_id", "site_id", "given_name", "family_name", "birth_date", "birth_sex", "zip", "email",
           "cell_phone", "pcp_id", "name_is_placeholder", "guardian_id", "guardian_given_name",
           "guardian_family_name", "guardian_email")
_GUARDIAN_DETAILS = ("guardian_given_name", "guardian_family_name", "guardian_email")
_YES, _NO = frozenset({"yes", "y", "true", "1"}), frozenset({"no", "n", "false", "0"})
# Our field names that the file calls otherwise; the rest are named alike (patient.zip -> zip).
_NAMES = {"patient.id": "patient_id", "patient.responsible_provider_id": "pcp_id", "guardian.id": "guardian_id",
          "guardian.site_id": "site_id", "guardian.patient_id": "guardian_id"}


def import_csv(db: Engine, clock: Now, actor: ActorRef, text: str | TextIO, *, site_id: str | None = None,
               batch: int = 200, options: ImportOptions = JUST_IMPORT, intake: EventIntake | None = None,
               progress: Progress | None = None, hold: float = HOLD) -> ImportReport:
    """Import the CSV `text`; `site_id` is the site of rows with no site_id of their own. `batch`, `options`,
    `intake`, `progress` and `hold` as `engine.imports.batches.run_import` takes them.

    Raises `InvalidInput` before writing anything when the header is missing or wrong (field "header") or, for
    `text` given whole, when some row is not readable as CSV (field "line N"); a stream is read lazily instead,
    and such a row stops the import there.
    """
    stream = io.StringIO(text) if isinstance(text, str) else text
    rows = csv_rows(stream, site_id)
    total = count_rows(text) if isinstance(text, str) else None
    if progress is not None:
        progress.begin(total)
    return run_import(db, clock, actor, rows, batch=batch, options=options, intake=intake, progress=progress,
                      hold=hold)


def count_rows(text: str) -> int:
    """How many rows follow the header (blank ones are skipped); `InvalidInput` naming the first line that is not
    readable as CSV, so a broken file is refused before its first row is written."""
    reader = csv.reader(io.StringIO(text))
    records = 0
    while (record := _next_record(reader)) is not None:
        records += any(cell.strip() for cell in record)
    return max(records - 1, 0)  # the header is the first record that is not blank


def csv_rows(stream: TextIO, site_id: str | None) -> Iterator[ImportRow | Rejected]:
    """The file's rows, read lazily; the header is checked now, so a bad one raises before any row is written."""
    reader = csv.reader(stream)
    first = _next_record(reader)
    while first == []:  # blank lines above the header
        first = _next_record(reader)
    header = _header(first, site_id)
    return _rows(reader, header, site_id)


def _next_record(reader: Reader) -> list[str] | None:
    try:
        return next(reader, None)
    except csv.Error as error:
        # The reader cannot resume after this: the file needs fixing (`count_rows` finds it before any write).
        raise InvalidInput(f"line {reader.line_num}", f"not readable as CSV: {error}") from None


def _header(record: list[str] | None, site_id: str | None) -> list[str]:
    if record is None:
        raise InvalidInput("header", "the file is empty: a first row naming the columns is required")
    names = [cell.strip().lstrip("\ufeff").lower() for cell in record]  # a BOM, when read as plain utf-8
    for number, name in enumerate(names, start=1):
        if not name:
            raise InvalidInput("header", f"column {number} has no name")
        if name not in COLUMNS:
            raise InvalidInput("header", f"unknown column '{name}' (column {number}); the columns are: "
                                         f"{', '.join(COLUMNS)}")
        if names.index(name) != number - 1:
            raise InvalidInput("header", f"column '{name}' appears twice")
    if "patient_id" not in names:
        raise InvalidInput("header", "the patient_id column is required")
    if "site_id" not in names and site_id is None:
        raise InvalidInput("header", "there is no site_id column and no default site was given")
    return names


def _rows(reader: Reader, header: list[str], site_id: str | None) -> Iterator[ImportRow | Rejected]:
    while True:
        start = reader.line_num + 1  # a quoted value may span lines: name the row by its first one
        record = _next_record(reader)
        if record is None:
            return
        if not any(cell.strip() for cell in record):
            continue  # a blank line, or a row of empty cells a spreadsheet left behind
        where = f"line {start}"
        if len(record) != len(header):
            yield Rejected(where, None, f"{len(record)} value(s), but the header names {len(header)} column(s)")
            continue
        cells = {name: cell.strip() or None for name, cell in zip(header, record, strict=True)}
        try:
            row: ImportRow | Rejected = _row(where, start, cells, site_id)
        except InvalidInput as bad:
            row = Rejected(where, bad.field, problem_of(bad))
        yield row


def _row(where: str, line: int, cells: dict[str, str | None], site_id: str | None) -> ImportRow:
    site = cells.get("site_id") or site_id
    if site is None:
        raise InvalidInput("site_id", "required: this row names no site and no default site was given")
    patient = NewPatient(
        id=cells.get("patient_id") or "", site_id=site, given_name=cells.get("given_name"),
        family_name=cells.get("family_name"), birth_date=parse_birth_date(cells.get("birth_date"), "birth_date"),
        birth_sex=cells.get("birth_sex"), zip=cells.get("zip"), email=cells.get("email"),
        cell_phone=cells.get("cell_phone"), pcp_id=cells.get("pcp_id"),
        name_is_placeholder=_yes_no(cells.get("name_is_placeholder"), "name_is_placeholder"))
    return ImportRow(where, patient, _guardian(cells), names=_NAMES, number=line)


def _guardian(cells: dict[str, str | None]) -> Guardian | None:
    guardian_id = cells.get("guardian_id")
    if guardian_id is None:
        given = [name for name in _GUARDIAN_DETAILS if cells.get(name)]
        if given:
            raise InvalidInput("guardian_id", f"required when {given[0]} is given: it names the household")
        return None
    return Guardian(guardian_id, cells.get("guardian_given_name"), cells.get("guardian_family_name"),
                    cells.get("guardian_email"))


def _yes_no(value: str | None, field_name: str) -> bool | None:
    if value is None:
        return None
    if value.lower() in _YES:
        return True
    if value.lower() in _NO:
        return False
    raise InvalidInput(field_name, "must be yes, no, or blank to detect it from the given name")
