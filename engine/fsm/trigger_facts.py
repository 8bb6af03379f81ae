"""What an advance needs to know of a trigger in a state before judging it, worked out once per workflow version.

Why: the candidates of a trigger are found by scanning every transition of the workflow, and whether a reason is
required or steps are stored by scanning the candidates again; the destination's status by scanning the states.
For a published version (immutable) the answers never change, so each advance looks them up instead (issue 14:
these scans cost ~5 µs of an advance on tmpfs, and more on the longer real workflows than on the bench's).
"""

from __future__ import annotations

from typing import NamedTuple

from definitions.model import ReasonPolicy, WorkflowDefinition
from engine.fsm.judgement import candidates

_Key = tuple[str, int, str, str, str]  # workflow id, version, content hash, state, trigger
_LIMIT = 65_536  # (version, state, trigger) triples kept; a bound, not a policy: there are far fewer


class TriggerFacts(NamedTuple):
    indices: tuple[int, ...]  # the candidate transitions (`judgement.candidates`)
    reason_required: bool  # there are candidates and every one requires a reason
    steps: bool  # some candidate has guided steps (their stored inputs are read)
    statuses: dict[int, str]  # each candidate's destination status, by its index


class TriggerFactsMemo:
    def __init__(self) -> None:
        self._known: dict[_Key, TriggerFacts] = {}

    def of(self, definition: WorkflowDefinition, state: str, trigger: str) -> TriggerFacts:
        key = (definition.id, definition.version, definition.content_hash, state, trigger)
        facts = self._known.get(key)
        if facts is None:
            facts = _facts(definition, state, trigger)
            if len(self._known) >= _LIMIT:
                self._known.clear()
            self._known[key] = facts
        return facts


def _facts(definition: WorkflowDefinition, state: str, trigger: str) -> TriggerFacts:
    indices = candidates(definition, state, trigger)
    found = [definition.transitions[i] for i in indices]
    statuses = {i: definition.state(t.dest).status for i, t in zip(indices, found, strict=True)}
    return TriggerFacts(indices, bool(found) and all(t.reason is ReasonPolicy.REQUIRED for t in found),
                        any(t.steps for t in found), statuses)
