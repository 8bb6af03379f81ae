"""What moving one running enrollment to a newer version of its workflow would do, decided before anything is
written. Pure: two definitions, the enrollment's state and pending timers, the designer's state map.

An enrollment in state S moves to state T = the map's entry for S, or S itself when the new version still has it.
It is blocked, with the reason in words, when T does not exist in the new version, or when one of its pending
timers would fire a different trigger there (its meaning changed: give the timer a new id, or map the state).
Otherwise its pending timers are cancelled and T's timers armed by the new version's rules: a timer that stays
(same id, same trigger) keeps counting from when it was first armed, so a PIN that had 20 days left still has 20;
a new one counts from the migration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from definitions.model import WorkflowDefinition


@dataclass(frozen=True, slots=True)
class PendingTimerRef:
    timer_id: str
    trigger: str
    armed_at: datetime
    due_at: datetime


@dataclass(frozen=True, slots=True)
class TimerMove:
    timer_id: str
    armed_at: datetime  # the moment its count starts from: kept for a timer that stays, the migration's for a new one
    kept: bool  # it was pending before, with the same trigger


@dataclass(frozen=True, slots=True)
class Move:
    to_state: str
    timers: tuple[TimerMove, ...]  # armed in the new state
    cancelled: tuple[str, ...]  # pending timers that do not go on in the new state
    notes: tuple[str, ...]  # what else a person should know (steps ticked ahead, timers that stop)


@dataclass(frozen=True, slots=True)
class Blocked:
    why: str


def check_map(old: WorkflowDefinition, new: WorkflowDefinition, mapping: Mapping[str, str]) -> list[str]:
    """Every mistake in the command itself (its map, or versions that cannot be moved between), in words."""
    problems = []
    if old.subject is not new.subject:
        problems.append(f"version {new.version} is for a {new.subject.value}, version {old.version} for a "
                        f"{old.subject.value}: enrollments cannot move between them")
    old_states = {s.id for s in old.states}
    new_states = {s.id for s in new.states}
    for source, target in mapping.items():
        if source not in old_states:
            problems.append(f"--map {source}={target}: version {old.version} has no state '{source}'")
        if target not in new_states:
            problems.append(f"--map {source}={target}: version {new.version} has no state '{target}'")
    return problems


def plan(old: WorkflowDefinition, new: WorkflowDefinition, state: str, mapping: Mapping[str, str],
         pending: Sequence[PendingTimerRef], steps_ticked: int, now: datetime) -> Move | Blocked:
    target = mapping.get(state, state)
    known = {s.id for s in new.states}
    if target not in known:
        return Blocked(f"state '{state}' is gone in version {new.version} and not mapped: add --map "
                       f"{state}=<one of {', '.join(sorted(s.id for s in new.states if not s.final))}>")
    new_timers = {t.id: t for t in new.timers if t.state == target}
    for timer in pending:
        changed = new_timers.get(timer.timer_id)
        if changed is not None and changed.fire != timer.trigger:
            return Blocked(f"timer '{timer.timer_id}' fires '{timer.trigger}' in version {old.version} but "
                           f"'{changed.fire}' in version {new.version}: give it a new id, or map the state")
    still = {t.timer_id: t for t in pending if t.timer_id in new_timers}
    moves = tuple(TimerMove(t.id, still[t.id].armed_at if t.id in still else now, t.id in still)
                  for t in new_timers.values())
    cancelled = tuple(t.timer_id for t in pending if t.timer_id not in new_timers)
    notes = []
    if steps_ticked:
        notes.append(f"{steps_ticked} step(s) ticked ahead in '{state}' are to be ticked again")
    if new.state(target).final:
        notes.append(f"'{target}' is final in version {new.version}: the enrollment ends there")
    return Move(target, moves, cancelled, tuple(notes))
