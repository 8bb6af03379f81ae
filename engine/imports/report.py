"""What an import did, or in a dry run would do, row by row: created, updated, unchanged, rejected.

A dry run's report is the real import's, word for word, but for its summary saying that nothing was written: it
comes from the same code, rolled back at the end (`engine.imports.batches`). Rows are named where they are in
their source ("line 4", "entry[3] (Patient/abc)"); created and unchanged rows, which can be thousands, are also
listed compactly by their place in the source ("lines 2-9, 12").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

_PLURAL = {"line": "lines", "entry": "entries"}


@dataclass(frozen=True, slots=True)
class Rejected:
    """A row that was not imported: where it is ("line 4", "entry[3] (Patient/abc)"), the field if one, and why."""

    where: str
    field: str | None
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.reason}" if self.field else f"{self.where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Updated:
    """A patient who existed, corrected from the row: the fields whose value changed (as the source names them),
    and what the change set off through event intake when it moved an enrollment (an invite re-sent)."""

    where: str
    patient_id: str
    fields: tuple[str, ...]
    event: str | None = None

    def __str__(self) -> str:
        said = f"{self.where}: {self.patient_id}: updated {', '.join(self.fields)}"
        return f"{said} ({self.event})" if self.event else said


@dataclass(frozen=True, slots=True)
class Row:
    """A row created or left unchanged: where it is, and its place in the source (the CSV line it starts on, the
    Bundle entry's index), by which such rows are listed compactly."""

    where: str
    number: int


@dataclass
class ImportReport:
    patients_created: int = 0
    households_created: int = 0
    members_added: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    created: list[Row] = field(default_factory=list)
    updated: list[Updated] = field(default_factory=list)
    unchanged: list[Row] = field(default_factory=list)  # nothing new: the patient (and household) as on file
    existing: int = 0  # rejected because their patient exists and updating was not asked for
    dry_run: bool = False
    update: bool = False
    unit: str = "line"  # what `Row.number` counts: "line" (CSV) or "entry" (FHIR Bundle)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        dry = self.dry_run
        parts = [f"{'would import' if dry else 'imported'} {self.patients_created} patient(s), "
                 f"{self.households_created} household(s)"]
        if self.update:
            parts.append(f"{'would update' if dry else 'updated'} {len(self.updated)} patient(s), "
                         f"{len(self.unchanged)} unchanged")
        elif self.unchanged:
            parts.append(f"{len(self.unchanged)} row(s) unchanged")
        parts.append(f"{'would reject' if dry else 'rejected'} {len(self.rejected)} row(s)")
        said = "; ".join(parts)
        return f"dry run, nothing written: {said}" if dry else said

    def details(self, file: str | None = None) -> list[str]:
        """The row-by-row lines after the summary: created rows, each update, unchanged rows, each rejected row
        (prefixed by `file` when given, so an error names the file, the row and the field)."""
        lines = []
        if self.created:
            lines.append(f"{'would create' if self.dry_run else 'created'}: {self.places(self.created)}")
        lines += [str(updated) for updated in self.updated]
        if self.unchanged:
            lines.append(f"unchanged: {self.places(self.unchanged)}")
        lines += [f"{file}, {rejected}" if file else str(rejected) for rejected in self.rejected]
        return lines

    def places(self, rows: Iterable[Row]) -> str:
        """"lines 2-5, 9", "line 3", "entries 0-4": consecutive places as one span."""
        numbers = sorted({row.number for row in rows})
        spans: list[list[int]] = []
        for number in numbers:
            if spans and number == spans[-1][1] + 1:
                spans[-1][1] = number
            else:
                spans.append([number, number])
        unit = self.unit if len(numbers) == 1 else _PLURAL.get(self.unit, f"{self.unit}s")
        return f"{unit} " + ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)

    def add(self, other: ImportReport) -> None:
        self.patients_created += other.patients_created
        self.households_created += other.households_created
        self.members_added += other.members_added
        self.rejected.extend(other.rejected)
        self.created.extend(other.created)
        self.updated.extend(other.updated)
        self.unchanged.extend(other.unchanged)
        self.existing += other.existing
