"""Simulate a workflow from a scenario file: the real engine, a throwaway SQLite file and a fake clock.

`engine.designer.scenario_file` reads the scenario; this module seeds its records, starts its enrollment (or lets its
first event start one), then plays each step at its moment (fire a trigger, complete a step, present a PIN or link,
update a patient, deliver an EHR event, sweep due timers) and checks what followed.

PINs and links the engine shows are kept in memory only, to be presented later; the timeline never prints them.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import func, insert, select, update

from definitions.errors import RuntimeFailure
from definitions.model import Actor
from engine.actors import SYSTEM_ACTOR, ActorRef
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.designer.scenario_clock import ScenarioClock
from engine.designer.scenario_file import (
    RECORD_TABLES,
    Scenario,
    ScenarioInvalid,
    ScenarioStep,
    load_scenario,
    offset_text,
)
from engine.enrollments.advance import AdvanceEnrollment, EnrollmentAdvanced
from engine.enrollments.intake import IntakeEvent
from engine.enrollments.portal import PresentPin
from engine.enrollments.start import StartEnrollment
from engine.enrollments.steps import CompleteStep
from engine.errors import CredentialRefused
from engine.front_door.flow import PortalFlow
from engine.storage.tables import audit_events, enrollments, household_members, outbox, patients
from engine.timers.rows import pending_of

_OTHER_ACTORS = {kind.value: ActorRef(kind.value, kind.value, kind) for kind in Actor if kind is not Actor.STAFF}


@dataclass
class ScenarioReport:
    ok: bool
    timeline: list[str] = field(default_factory=list)
    failure: str | None = None


class ExpectationFailed(Exception):
    """A scenario's expectation did not hold; the message says which step, which key and what was found."""


def run_scenario(path: Path, workflows_dir: Path) -> ScenarioReport:
    """Run a scenario on the real engine; a malformed file raises `ScenarioInvalid`, a failed check is reported."""
    scenario = load_scenario(path)
    with tempfile.TemporaryDirectory(prefix="portalflow-simulate-") as folder:
        clock = ScenarioClock(scenario.start)
        flow = build(f"sqlite:///{Path(folder) / 'simulation.db'}", workflows_dir, clock=clock,
                     hash_cost=TEST_COST, secret_key=Fernet.generate_key())
        try:
            return _Run(flow, clock, scenario).run()
        finally:
            flow.close()


class _Run:
    def __init__(self, flow: PortalFlow, clock: ScenarioClock, scenario: Scenario) -> None:
        self.flow, self.clock, self.scenario = flow, clock, scenario
        self.report = ScenarioReport(ok=True)
        self.pins: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self.enrollment_id = ""
        self.outbox_seen = 0
        self.staff = [str(s["id"]) for s in scenario.records["staff"]]
        self.event_outcome: str | None = None

    def say(self, text: str) -> None:
        self.report.timeline.append(f"{offset_text(self.clock.now(), self.scenario.start):<9}{text}")

    def run(self) -> ScenarioReport:
        self._seed()
        enroll = self.scenario.enroll
        if enroll:  # without `enroll`, the first event that starts one (`event:`) sets the enrollment
            started = self.flow.start(StartEnrollment(
                self.scenario.workflow, self._actor(enroll.get("as"), Actor.STAFF), patient_id=enroll.get("patient"),
                household_id=enroll.get("household"), selected_children=tuple(enroll.get("children") or ())))
            self.enrollment_id = started.enrollment_id
            subject = (f"patient {enroll['patient']}" if enroll.get("patient")
                       else f"household {enroll.get('household')}")
            self.say(f"start {started.workflow_id} v{started.workflow_version} for {subject}: "
                     f"{started.state} ({started.status})")
        for step in self.scenario.steps:
            self.clock.move_to(step.at)
            try:
                self._do(step)
            except ExpectationFailed as failed:
                self.report.ok = False
                self.report.failure = str(failed)
                self.say(f"FAILED {failed}")
                break
        return self.report

    def _seed(self) -> None:
        with self.flow.db.begin() as conn:
            for name, table in RECORD_TABLES.items():
                for values in self.scenario.records[name]:
                    conn.execute(insert(table).values(**values))
            for household, children in self.scenario.members.items():
                for position, child in enumerate(children, 1):
                    conn.execute(insert(household_members).values(household_id=household, patient_id=child,
                                                                  position=position))

    def _actor(self, name: Any, kind: Actor) -> ActorRef:
        if name in _OTHER_ACTORS:
            return _OTHER_ACTORS[name]
        if name is None and kind is not Actor.STAFF:
            return _OTHER_ACTORS[kind.value]
        staff = str(name) if name is not None else (self.staff[0] if self.staff else "staff")
        return ActorRef(staff, "staff", Actor.STAFF)

    def _default_kind(self, trigger: str) -> Actor:
        definition = self.flow.catalog.latest(self.scenario.workflow)
        kinds = [t.by for t in definition.transitions if t.trigger == trigger]
        return kinds[0] if kinds else Actor.STAFF

    def _do(self, step: ScenarioStep) -> None:
        error: RuntimeFailure | None = None
        try:
            self._act(step)
        except RuntimeFailure as refusal:
            error = refusal
            self.say(f"{self._label(step)}: {_refused(refusal)}")
        self._new_messages()
        self._check(step, error)

    def _label(self, step: ScenarioStep) -> str:
        args = step.args
        if step.action == "fire":
            actor = self._actor(step.extra.get("as"), self._default_kind(str(args)))
            return f"fire {args} by {actor.id}"
        if step.action == "complete_step":
            return f"complete step {args.get('step')} of {args.get('trigger')}"
        if step.action == "present_pin":
            return f"present PIN of {args.get('child') or args.get('patient')}"
        if step.action == "present_link":
            return f"present link of {args.get('patient') if isinstance(args, dict) else 'the patient'}"
        return str(step.action)

    def _act(self, step: ScenarioStep) -> None:
        args = step.args
        if step.action == "fire":
            actor = self._actor(step.extra.get("as"), self._default_kind(str(args)))
            done = self.flow.advance(AdvanceEnrollment(self.enrollment_id, str(args), actor,
                                                       inputs=step.extra.get("inputs") or {},
                                                       reason=step.extra.get("reason")))
            self._moved(self._label(step), done)
        elif step.action == "complete_step":
            actor = self._actor(args.get("as"), Actor.STAFF)
            self.flow.complete_step(CompleteStep(self.enrollment_id, str(args["trigger"]), str(args["step"]),
                                                 args.get("value", True), actor))
            self.say(f"{self._label(step)} by {actor.id}: done")
        elif step.action == "present_pin":
            self._present_pin(step, args)
        elif step.action == "present_link":
            patient = args.get("patient") if isinstance(args, dict) else None
            link = self.links.get(str(patient)) if patient else next(reversed(self.links.values()), None)
            if link is None:
                raise ExpectationFailed(self._where(step, "present_link", "no link was shown for that patient"))
            self._moved(self._label(step), self.flow.present_link(link.rsplit("/", 1)[-1]))
        elif step.action == "update_patient":
            with self.flow.db.begin() as conn:
                conn.execute(update(patients).where(patients.c.id == args["id"]).values(**args["fields"]))
            self.say(f"update patient {args['id']}: {', '.join(sorted(args['fields']))}")
        elif step.action == "sweep":
            self._sweep()
        elif step.action == "event":
            self._event(args)

    def _event(self, args: dict[str, Any]) -> None:
        """An EHR event through the real intake (`engine.enrollments.intake`); `expect: event` checks its outcome."""
        patient = (args.get("patient") or self.scenario.enroll.get("patient")
                   or self.scenario.records["patients"][0]["id"])
        result = self.flow.receive(IntakeEvent(str(args.get("key")), str(args.get("kind")), str(patient),
                                               changes=args.get("changes") or {}))
        if not self.enrollment_id and result.enrollment_ids:
            self.enrollment_id = result.enrollment_ids[0]
        self.event_outcome = "repeated" if result.repeated else result.outcome
        told = f"already handled ({result.outcome}), nothing done now" if result.repeated else result.outcome
        self.say(f"event {args.get('kind')} ({args.get('key')}) for {patient}: {told}: {result.detail}")

    def _present_pin(self, step: ScenarioStep, args: dict[str, Any]) -> None:
        child = str(args.get("child") or args.get("patient"))
        pin = self.pins.get(child)
        if pin is None:
            raise ExpectationFailed(self._where(step, "present_pin", f"no PIN was shown for {child}"))
        with self.flow.db.connect() as conn:
            born = conn.execute(select(patients.c.birth_date).where(patients.c.id == child)).scalar_one()
        if args.get("birth_date"):
            born = date.fromisoformat(str(args["birth_date"]))
        self._moved(self._label(step), self.flow.present_pin(PresentPin(pin, born)))

    def _moved(self, label: str, done: EnrollmentAdvanced) -> None:
        shown = []
        for secret in done.shown:
            (self.pins if secret.kind == "pin" else self.links)[secret.patient_id] = secret.value
            shown.append(f"{'PIN' if secret.kind == 'pin' else 'link'} shown to staff for {secret.patient_id}"
                         + (" (do not send PIN)" if secret.do_not_send else ""))
        shown += [f"printout {d.message_id} handed to staff" for d in done.documents]
        shown += [f"message {h.message_id} {h.reason}" for h in done.held]
        self.say(f"{label}: {done.from_state} -> {done.to_state} ({done.status})"
                 + "".join(f"; {s}" for s in shown))

    def _sweep(self) -> None:
        """Run the real sweep (`engine.background.sweep`) at the fake clock's time and tell what each timer did."""
        with self.flow.db.connect() as conn:
            before = conn.execute(select(func.max(audit_events.c.id))).scalar_one() or 0
        report = self.flow.sweeper.sweep()
        with self.flow.db.connect() as conn:
            rows = conn.execute(select(audit_events.c.action, audit_events.c.outcome, audit_events.c.from_state,
                                       audit_events.c.to_state, audit_events.c.trigger, audit_events.c.detail,
                                       audit_events.c.reason)
                                .where((audit_events.c.id > before)
                                       & (audit_events.c.actor_id == SYSTEM_ACTOR.id))
                                .order_by(audit_events.c.id)).all()
        for row in rows:
            if row.action == "transition" and row.outcome == "ok":
                self.say(f"sweep: {row.reason}: {row.trigger} by system: {row.from_state} -> {row.to_state}")
            elif row.action == "transition":
                self.say(f"sweep: {row.trigger} by system refused: {row.detail}")
            elif row.action == "timer_skipped":
                self.say(f"sweep: {row.detail}")
        for problem in report.problems:
            self.say(f"sweep: failed: {problem}")
        self.say(f"sweep: {report}")

    def _new_messages(self) -> None:
        with self.flow.db.connect() as conn:
            rows = conn.execute(select(outbox.c.id, outbox.c.message_id, outbox.c.channel, outbox.c.status)
                                .where(outbox.c.id > self.outbox_seen).order_by(outbox.c.id)).all()
        for row in rows:
            self.outbox_seen = row.id
            self.report.timeline.append(f"{'':<9}  message {row.message_id} ({row.channel}): {row.status}")

    # ----- expectations ---------------------------------------------------------------------------------------

    def _where(self, step: ScenarioStep, key: str, problem: str, line: int | None = None) -> str:
        return (f"step {step.number} ({self.scenario.path}, line {line or step.line}): "
                f"expected {key}: {problem}")

    def _check(self, step: ScenarioStep, error: RuntimeFailure | None) -> None:
        expect = step.expect
        if error is not None and "refused" not in expect and "credential_refused" not in expect:
            raise ExpectationFailed(f"step {step.number} ({self.scenario.path}, line {step.line}): "
                                    f"{self._label(step)} was refused unexpectedly: {error}")
        with self.flow.db.connect() as conn:
            row = conn.execute(select(enrollments.c.state, enrollments.c.workflow_version).where(
                enrollments.c.id == self.enrollment_id)).first()
            messages = conn.execute(select(outbox.c.message_id, outbox.c.status).order_by(outbox.c.id)).all()
            pending_rows = pending_of(conn, self.enrollment_id) if self.enrollment_id else []
        pending = [r.timer_id for r in pending_rows]
        status = (None if row is None
                  else self.flow.catalog.get(self.scenario.workflow, row.workflow_version).state(row.state).status)
        actual: dict[str, Any] = {
            "state": row and row.state, "status": status, "event": self.event_outcome,
            "refused": str(error) if error is not None else None,
            "credential_refused": error.why if isinstance(error, CredentialRefused) else None,
            "timers_pending": sorted(pending),
            "timers_due": {r.timer_id: r.due_at.strftime("%Y-%m-%dT%H:%M:%SZ") for r in pending_rows},
        }
        for key, (wanted, line) in expect.items():
            if key == "messages_queued":
                got: Any = [{m.message_id: m.status} for m in messages]
                if isinstance(wanted, int) and not isinstance(wanted, bool):
                    got = len(messages)
            else:
                got = actual[key]
                if key == "timers_due" and isinstance(wanted, dict):
                    wanted = {str(k): str(v) for k, v in wanted.items()}
                elif key == "timers_pending":
                    wanted = sorted(wanted if isinstance(wanted, list) else [wanted])
            matched = (got is not None and str(wanted) in got) if key == "refused" else got == wanted
            if not matched:
                shown = "nothing was refused" if key in ("refused", "credential_refused") and got is None else got
                raise ExpectationFailed(self._where(step, key, f"{wanted!r}, got {shown!r}", line))


def _refused(error: RuntimeFailure) -> str:
    """A refusal for the designer's timeline: a portal refusal says why (the caller itself is told only that the
    PIN or link was not accepted)."""
    if isinstance(error, CredentialRefused):
        return f"refused ({error.why}): {error}"
    text = str(error)
    return text if text.startswith("refused: ") else f"refused: {text}"


__all__ = ["Scenario", "ScenarioInvalid", "ScenarioReport", "load_scenario", "run_scenario"]
