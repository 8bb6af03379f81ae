"""Event intake: events from the EHR start or re-trigger the workflows that listen to them, each acted on once.

The events are the PxP handout's auto-invite causes: `chart_added`, `demographics_changed`, `new_encounter` and
`new_appointment`. A workflow listens to an event when one of its transitions has that trigger and is fired by an
integration. Each event carries the sender's idempotency key and is handled in one transaction:

1. The key is claimed in `intake_events`. A key seen before returns the stored outcome and does nothing else (the
   same key for a different event is refused); two deliveries at once queue on the key, and the second gets the
   first one's outcome.
2. `demographics_changed` stores the new values. If none of the fields the listening workflows require changed
   (say, only the cell phone), the event is `ignored`: the handout sends invites on a required field only.
3. For each listening workflow: a patient who already finished it (e.g. activated the portal) is left alone;
   otherwise the running enrollment is re-triggered, or one is started and triggered. The trigger runs through the
   engine in a savepoint: its guards (go-live, demographics, the invite limit) may refuse, and the refusal is
   recorded in that enrollment's history; a started enrollment then stays at its first state for staff to see.
4. The outcome is stored with the key: `acted` (an enrollment moved), `refused` (the guards said no, and why) or
   `ignored` (why), with the enrollments concerned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from definitions.model import Actor, Subject, WorkflowDefinition
from engine.actors import ActorRef
from engine.audit.entry import about_subject
from engine.audit.trail import append_to_subject
from engine.enrollments.advance import AdvanceEnrollment, Advancer
from engine.enrollments.start import StartEnrollment, start_in
from engine.errors import InvalidInput, NotAllowed, NotFound, Refused
from engine.fsm.guards import FIELD_WORDS
from engine.people.demographics import apply_changes, check_changes
from engine.people.subjects import load_site
from engine.storage.tables import enrollments, intake_events, patients
from engine.versions.catalog import WorkflowCatalog

EVENT_KINDS = ("chart_added", "demographics_changed", "new_encounter", "new_appointment")
INTEGRATION = "integration"


@dataclass(frozen=True, slots=True)
class IntakeEvent:
    """One event as the sender delivered it. `changes` (demographics_changed only) maps field names to values."""

    key: str
    kind: str
    patient_id: str
    changes: Mapping[str, Any] = field(default_factory=dict)
    source: str = INTEGRATION  # the integration's name (or the staff user's id), recorded as the actor
    source_role: str = INTEGRATION  # the actor's role in the history: a staff edit is recorded as staff
    reason: str | None = None  # why, for the history: an import names its file and row ("import of x.csv, line 4")

    @property
    def actor(self) -> ActorRef:
        """Events fire integration transitions, whoever sent them (a staff edit goes through intake too)."""
        return ActorRef(self.source, self.source_role, Actor.INTEGRATION)


@dataclass(frozen=True, slots=True)
class IntakeResult:
    key: str
    kind: str
    patient_id: str
    outcome: str  # acted | refused | ignored
    detail: str
    enrollment_ids: tuple[str, ...]
    repeated: bool  # True when this key had been handled before and nothing was done now
    changed: tuple[str, ...] = ()  # the demographic fields whose stored value this event changed


class EventIntake:
    def __init__(self, db: Engine, advancer: Advancer, catalog: WorkflowCatalog) -> None:
        self.db, self.advancer, self.catalog = db, advancer, catalog

    def __call__(self, event: IntakeEvent) -> IntakeResult:
        try:
            with self.db.begin() as conn:
                return self.receive_in(conn, event)
        except IntegrityError:
            # A concurrent delivery of the same key committed first (PostgreSQL): answer with its outcome.
            with self.db.connect() as conn:
                stored = _stored(conn, event)
            if stored is None:
                raise
            return stored

    def receive_in(self, conn: Connection, event: IntakeEvent) -> IntakeResult:
        """Act on `event` in the caller's transaction (a staff edit of a patient goes with its other fields)."""
        _check(event)
        changes = check_changes(event.changes) if event.kind == "demographics_changed" else {}
        stored = _stored(conn, event)
        if stored is not None:
            return stored
        return self._handle(conn, event, changes)

    def _handle(self, conn: Connection, event: IntakeEvent, changes: dict[str, Any]) -> IntakeResult:
        now = self.advancer.services.clock.now()
        conn.execute(insert(intake_events).values(key=event.key, kind=event.kind, patient_id=event.patient_id,
                                                  received_at=now, outcome="pending"))
        # Lock the patient: events for one patient queue here (PostgreSQL), so their starts cannot race.
        found = conn.execute(select(patients.c.site_id).where(patients.c.id == event.patient_id).with_for_update())
        site_id = found.scalar()
        if site_id is None:
            raise NotFound("patient", event.patient_id)
        site = load_site(conn, site_id)
        # Workflows are enabled per site: one the patient's site does not use never starts, and the outcome says so.
        everyone = self._listening(event.kind)
        listening = [d for d in everyone if site.uses(d.id)]
        unused = [f"{d.id}: {site.not_using(d.id, d.title)}" for d in everyone if not site.uses(d.id)]
        lines: list[str] = []
        outcomes: list[str] = []
        touched: list[str] = []
        changed: list[str] = []
        if event.kind == "demographics_changed":
            changed = apply_changes(conn, event.patient_id, changes)
            if changed:
                self._record_update(conn, event, changed)
            required = {name for definition in everyone for name in _required_fields(definition)}
            if not set(changed) & required:
                lines.append(_no_required_change(changed))
                listening = []
        if not listening and not lines and not unused:
            lines.append(f"no workflow listens to '{event.kind}'")
        lines += unused
        for definition in listening:
            outcome, line, enrollment_id = self._trigger(conn, event, definition)
            outcomes.append(outcome)
            lines.append(f"{definition.id}: {line}")
            if enrollment_id is not None:
                touched.append(enrollment_id)
        outcome = next((o for o in ("acted", "refused") if o in outcomes), "ignored")
        detail = "; ".join(lines)
        conn.execute(update(intake_events).where(intake_events.c.key == event.key).values(
            outcome=outcome, detail=detail, enrollment_ids=touched or None))
        return IntakeResult(event.key, event.kind, event.patient_id, outcome, detail, tuple(touched), False,
                            tuple(changed))

    def _listening(self, kind: str) -> list[WorkflowDefinition]:
        latest = [self.catalog.latest(wid) for wid in dict.fromkeys(d.id for d in self.catalog.all())]
        return [d for d in latest if d.subject is Subject.PATIENT
                and any(t.trigger == kind and t.by is Actor.INTEGRATION for t in d.transitions)]

    def _trigger(self, conn: Connection, event: IntakeEvent,
                 definition: WorkflowDefinition) -> tuple[str, str, str | None]:
        actor = event.actor
        finals = [s.id for s in definition.states if s.final]
        rows = conn.execute(select(enrollments.c.id, enrollments.c.state).where(
            (enrollments.c.patient_id == event.patient_id) & (enrollments.c.workflow_id == definition.id))
            .order_by(enrollments.c.started_at.desc())).all()
        running = next((r for r in rows if r.state not in finals), None)
        started = ""
        if running is None and rows:
            done = rows[0]
            return "ignored", f"already finished ({definition.state(done.state).status}, enrollment {done.id})", None
        if running is None:
            begun = start_in(conn, self.advancer.services, definition, StartEnrollment(
                definition.id, actor, patient_id=event.patient_id))
            enrollment_id, started = begun.enrollment_id, f"started enrollment {begun.enrollment_id}; "
        else:
            enrollment_id = running.id
        try:
            moved = self.advancer.advance_in(conn, AdvanceEnrollment(
                enrollment_id, event.kind, actor, reason=_why(event)))
        except Refused as refusal:
            return "refused", f"{started}{event.kind} refused: {'; '.join(refusal.reasons)}", enrollment_id
        except NotAllowed as not_now:
            return "ignored", f"{started}{not_now}", enrollment_id
        line = f"{started}{event.kind}: {moved.from_state} -> {moved.to_state} ({moved.status})"
        return "acted", line, enrollment_id

    def _record_update(self, conn: Connection, event: IntakeEvent, changed: list[str]) -> None:
        append_to_subject(conn, about_subject(
            "patient", event.patient_id, self.advancer.services.clock.now(), event.actor, "demographics_updated",
            inputs={"fields": sorted(changed)}, reason=event.reason, detail=f"{event.kind} event {event.key}"[:500]))


def _why(event: IntakeEvent) -> str:
    said = f"{event.kind} event {event.key}"
    return (f"{said}: {event.reason}" if event.reason else said)[:500]


def _check(event: IntakeEvent) -> None:
    if not event.key or len(event.key) > intake_events.c.key.type.length:  # type: ignore[attr-defined]
        raise InvalidInput("key", "an idempotency key of 1 to 200 characters is required")
    if event.kind not in EVENT_KINDS:
        raise InvalidInput("kind", f"unknown event '{event.kind}'; known: {', '.join(EVENT_KINDS)}")
    if event.changes and event.kind != "demographics_changed":
        raise InvalidInput("changes", "only a demographics_changed event carries changes")
    if event.kind == "demographics_changed" and not event.changes:
        raise InvalidInput("changes", "a demographics_changed event must say which fields changed and to what")


def _stored(conn: Connection, event: IntakeEvent) -> IntakeResult | None:
    row = conn.execute(select(intake_events).where(intake_events.c.key == event.key)).first()
    if row is None:
        return None
    if (row.kind, row.patient_id) != (event.kind, event.patient_id):
        raise InvalidInput("key", f"this idempotency key was already used for a {row.kind} event of another "
                                  "patient or kind")
    return IntakeResult(row.key, row.kind, row.patient_id, row.outcome, row.detail or "",
                        tuple(row.enrollment_ids or ()), True)


def _required_fields(definition: WorkflowDefinition) -> set[str]:
    """The demographic fields whose change re-triggers: those the workflow's `required_demographics` checks."""
    found: set[str] = set()
    for transition in definition.transitions:
        if transition.trigger != "demographics_changed":
            continue
        for call in transition.guards:
            if call.name == "required_demographics":
                fields = call.param("fields")
                found |= set(fields) if isinstance(fields, tuple) else set(FIELD_WORDS)
    return found


def _no_required_change(changed: list[str]) -> str:
    if not changed:
        return "nothing changed: the values sent are the ones on file"
    return f"no required field changed ({', '.join(sorted(changed))}): no invite is triggered"
