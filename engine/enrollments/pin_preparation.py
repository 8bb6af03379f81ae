"""Before an advance's transaction opens: draw and hash the PINs its transition could issue (`PinStock`).

Only a trigger that some published transition issues PINs on pays for the read: one short read-only transaction
for the enrollment's state and the size of its household, which never waits for or holds the write lock. Which
triggers those are is worked out once per catalog (a catalog never changes once loaded): every other advance pays
one set lookup.
"""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from definitions.model import WorkflowDefinition
from engine.credentials.hashing import SecretHasher
from engine.credentials.prepared import PinStock
from engine.fsm.judgement import candidates
from engine.fsm.rows import read_enrollment
from engine.storage.database import reading
from engine.storage.tables import household_members
from engine.versions.catalog import WorkflowCatalog

ISSUES_PINS = "issue_pin"


class PinPreparation:
    def __init__(self, db: Engine, catalog: WorkflowCatalog, hasher: SecretHasher) -> None:
        self._db, self._catalog, self._hasher = reading(db), catalog, hasher
        self._triggers = frozenset(trigger for definition in catalog.all() for trigger in pin_triggers(definition))

    def __call__(self, enrollment_id: str, trigger: str) -> PinStock | None:
        if trigger not in self._triggers:
            return None
        with self._db.connect() as conn:
            row = read_enrollment(conn, enrollment_id)
            definition = self._catalog.get(row.workflow_id, row.workflow_version)
            if not any(e.name == ISSUES_PINS for i in candidates(definition, row.state, trigger)
                       for e in definition.transitions[i].effects):
                return None
            people = 1 if row.household_id is None else conn.execute(
                select(func.count()).select_from(household_members)
                .where(household_members.c.household_id == row.household_id)).scalar_one()
        return PinStock(self._hasher, people)


def pin_triggers(definition: WorkflowDefinition) -> frozenset[str]:
    """The triggers of `definition` that some transition issues PINs on."""
    return frozenset(t.trigger for t in definition.transitions if any(e.name == ISSUES_PINS for e in t.effects))
