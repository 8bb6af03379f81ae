"""Import patients and guardians from a CSV file or a FHIR R4 Bundle, in batches (each batch one transaction),
every rejected row named with where it is, the field and why; or only check a file (a dry run), or correct the
patients who exist from it (through the event intake staff's corrections go through)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

from sqlalchemy import Engine

from definitions.model import Actor
from engine.actors import ActorRef
from engine.clock import Clock
from engine.enrollments.intake import EventIntake
from engine.errors import InvalidInput, NotFound
from engine.front_door.base import Door
from engine.imports.batches import JUST_IMPORT, ImportOptions, Progress
from engine.imports.csv_file import import_csv
from engine.imports.dry_runs import Importer, dry_run
from engine.imports.fhir_bundle import import_fhir_bundle
from engine.imports.report import ImportReport
from engine.people.identity import get_user
from engine.people.subjects import load_site

_ACTOR_LENGTH = 64  # audit_events.actor_id


class Imports(Door):
    def __init__(self, db: Engine, clock: Clock, intake: EventIntake) -> None:
        super().__init__(db, clock)
        self.intake = intake

    def csv(self, actor: ActorRef, text: str | TextIO, *, site_id: str | None = None,
            options: ImportOptions = JUST_IMPORT, progress: Progress | None = None) -> ImportReport:
        """Raises `InvalidInput` before writing anything when the header is missing or wrong (field "header") or a
        row of `text` is not readable as CSV (field "line N")."""
        return self._run(options, lambda db, chosen: import_csv(
            db, self.clock, actor, text, site_id=site_id, options=chosen, intake=self.intake, progress=progress))

    def fhir(self, actor: ActorRef, bundle: Mapping[str, Any], *, site_id: str | None = None,
             options: ImportOptions = JUST_IMPORT, progress: Progress | None = None) -> ImportReport:
        return self._run(options, lambda db, chosen: import_fhir_bundle(
            db, self.clock, actor, bundle, site_id=site_id, options=chosen, intake=self.intake, progress=progress))

    def _run(self, options: ImportOptions, run: Importer) -> ImportReport:
        # The intake works in the connection it is given: on a dry run's snapshot it corrects the snapshot.
        return dry_run(self.db, options, run) if options.dry_run else run(self.db, options)

    def importer(self, user_id: str) -> ActorRef:
        """Who an import from the server's shell is recorded as: the staff user or integration of that id, or else
        an integration of that name (a feed that has no user of its own)."""
        if not 0 < len(user_id) <= _ACTOR_LENGTH or not user_id.isprintable():
            raise InvalidInput("actor", f"1 to {_ACTOR_LENGTH} printable characters")
        with self.reader.connect() as conn:
            try:
                user = get_user(conn, user_id)
            except NotFound:
                return ActorRef(user_id, "integration", Actor.INTEGRATION)
        if not user.active:
            raise InvalidInput("actor", f"user '{user_id}' is not active")
        return user.actor

    def require_site(self, site_id: str) -> None:
        """`NotFound` unless the site exists (checked before a file's rows are read)."""
        with self.reader.connect() as conn:
            load_site(conn, site_id)
