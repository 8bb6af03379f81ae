"""The sweep's fast path: a quiet timer transition whose machine choice is known, written as the advancer writes it.

A trigger is quiet in a state when none of its candidate transitions has a guard, an `unless`, a step or an effect
(`ChoiceMemo.quiet`): firing it reads nothing and writes only the enrollment's own rows. Once the machine has chosen
for a (workflow version, state, trigger) as the system (`ChoiceMemo.chosen`, filled by the advancer's first firing
through the machine), every other enrollment there gets the same choice, so the advancer's work for it is fixed:
cancel the state's timers, arm the destination's, append one 'transition' entry to the chain, move the enrollment.
`QuietFirings` does exactly that for each expiry with what can be done once per batch done once: the choice, the
timer rows' shape, and the audit entry's canonical text (`engine.audit.template`). The rows go into the batch's
`BatchWrites` like the advancer's; tests/engine/test_sweep_fast_path.py checks that both ways write the same bytes.

Anything else — a guard, a step, an effect, a choice not yet made, a reason the advancer would refuse — returns
False, and the sweep takes the ordinary way through `Advancer.advance_in`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from definitions.model import Transition, WorkflowDefinition
from engine.actors import SYSTEM_ACTOR
from engine.audit.entry import about_enrollment
from engine.audit.template import TransitionTemplate
from engine.audit.trail import HASH_AT, SEQ_AT
from engine.calendars.site_calendar import SiteCalendar
from engine.fsm.batch_writes import BatchWrites
from engine.fsm.choices import ChoiceMemo, choice_key
from engine.fsm.rows import EnrollmentRow, moved
from engine.fsm.subject import EnrollmentSubject
from engine.timers.rows import state_arms, state_timer_ids
from engine.versions.catalog import WorkflowCatalog

_Key = tuple[str, int, str, str]  # workflow id, version, state, trigger


@dataclass(frozen=True, slots=True)
class _Plan:
    """What every quiet firing of one (workflow version, state, trigger) at this batch's moment shares."""

    definition: WorkflowDefinition
    transition: Transition  # the candidate the machine chose
    cancelled: frozenset[str]
    arms_timers: bool  # the destination arms timers (each needs its own rows; some the site's calendar)
    template: TransitionTemplate | None  # made from the first enrollment fired


class QuietFirings:
    """One batch's fast firings, all recorded at `now` as the system."""

    def __init__(self, catalog: WorkflowCatalog, choices: ChoiceMemo, now: datetime) -> None:
        self.catalog, self.choices, self.now = catalog, choices, now
        self._plans: dict[_Key, _Plan | None] = {}

    def fire(self, conn: Connection, row: EnrollmentRow, trigger: str, reason: str, writes: BatchWrites) -> bool:
        """Fire `trigger` on the enrollment read as `row` into `writes`; False (nothing done) when it is not quiet
        or its choice is not known yet."""
        key = (row.workflow_id, row.workflow_version, row.state, trigger)
        plan = self._plans.get(key)
        if plan is None:
            if key in self._plans:  # not quiet
                return False
            plan = self._plan(row, trigger)
            if plan is None:
                return False
        template = plan.template
        if template is None:
            template = self._template(key, plan, row, reason)
        audit = template.row(row, reason)
        if audit is None:
            return False
        arms: list[dict[str, Any]] = []
        if plan.arms_timers:
            arms = state_arms(plan.definition, row.id, plan.transition.dest, self.now, _calendar(conn, row))
        move = moved(row, plan.transition.dest, row.selected_children, audit[SEQ_AT], audit[HASH_AT], self.now)
        writes.transition(row.id, plan.cancelled, self.now, arms, move, [audit])
        return True

    def _plan(self, row: EnrollmentRow, trigger: str) -> _Plan | None:
        definition = self.catalog.get(row.workflow_id, row.workflow_version)
        if not self.choices.quiet(definition, row.state, trigger):
            self._plans[(row.workflow_id, row.workflow_version, row.state, trigger)] = None  # it never will be
            return None
        index = self.choices.chosen(choice_key(definition, row.state, trigger, SYSTEM_ACTOR.kind))
        if index is None:  # the machine has not chosen yet: the ordinary way asks it, and remembers
            return None
        transition = definition.transitions[index]
        return _Plan(definition, transition, state_timer_ids(definition, row.state),
                     any(timer.state == transition.dest for timer in definition.timers), None)

    def _template(self, key: _Key, plan: _Plan, row: EnrollmentRow, reason: str) -> TransitionTemplate:
        """The advancer's entry for this firing, built its way (`about_enrollment`), as the template of them all."""
        transition = plan.transition
        entry = about_enrollment(row, self.now, SYSTEM_ACTOR, "transition", "ok", to_state=transition.dest,
                                 trigger=transition.trigger, inputs=None, reason=reason)
        template = TransitionTemplate(entry)
        self._plans[key] = _Plan(plan.definition, transition, plan.cancelled, plan.arms_timers, template)
        return template


def _calendar(conn: Connection, row: EnrollmentRow) -> Callable[[], SiteCalendar]:
    """The site's calendar, read only if a timer needs it (as the advancer's `ctx.subject.calendar`)."""
    return EnrollmentSubject(conn, row).calendar
