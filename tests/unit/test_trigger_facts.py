"""What an advance looks up about a trigger in a state is what scanning the workflow says, for every state and
trigger of the shipped workflows, and a version of its own keeps facts of its own."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from definitions import load_workflow
from definitions.model import ReasonPolicy
from engine.fsm.trigger_facts import TriggerFactsMemo


def test_the_facts_of_every_state_and_trigger_of_the_shipped_workflows_are_what_the_workflow_says(
        workflows_dir: Path) -> None:
    memo = TriggerFactsMemo()
    checked = 0
    for path in sorted(workflows_dir.glob("*.yaml")):
        definition = load_workflow(path)
        triggers = [*sorted({t.trigger for t in definition.transitions}), "no_such_trigger"]
        for state in definition.states:
            for trigger in triggers:
                facts = memo.of(definition, state.id, trigger)
                found = [(i, t) for i, t in enumerate(definition.transitions)
                         if t.trigger == trigger and state.id in t.sources]
                assert facts.indices == tuple(i for i, _ in found)
                assert facts.reason_required == (bool(found) and all(
                    t.reason is ReasonPolicy.REQUIRED for _, t in found))
                assert facts.steps == any(t.steps for _, t in found)
                assert facts.statuses == {i: definition.state(t.dest).status for i, t in found}
                assert memo.of(definition, state.id, trigger) is facts  # looked up, not worked out again
                checked += bool(found)
    assert checked > 20


def test_another_version_of_a_workflow_has_facts_of_its_own(workflows_dir: Path) -> None:
    memo = TriggerFactsMemo()
    definition = load_workflow(workflows_dir / "portal-invitation-reset-onboarding.yaml")
    first = definition.transitions[0]
    narrowed = replace(definition, version=definition.version + 1,
                       transitions=tuple(t for t in definition.transitions if t.trigger != first.trigger))
    assert memo.of(definition, first.sources[0], first.trigger).indices
    assert memo.of(narrowed, first.sources[0], first.trigger).indices == ()
