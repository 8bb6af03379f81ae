"""Render a workflow as a Mermaid `stateDiagram-v2`, labelled with the business statuses staff know."""

from __future__ import annotations

from definitions.model import Actor, WorkflowDefinition

_ACTOR_MARK = {Actor.STAFF: "", Actor.PORTAL: " [portal]", Actor.SYSTEM: " [timer]", Actor.INTEGRATION: " [EHR]"}


def edges(d: WorkflowDefinition) -> dict[tuple[str, str], list[str]]:
    """Each (from, to) pair with the labels of its arrows: the trigger, who does it when not staff, and a timer's
    delay. Shared by the Mermaid and the DOT diagrams."""
    found: dict[tuple[str, str], list[str]] = {}
    for t in d.transitions:
        for source in t.sources:
            label = t.trigger + _ACTOR_MARK[t.by]
            for timer in (tm for tm in d.timers if tm.state == source and tm.fire == t.trigger):
                when = f"after {timer.after}" if timer.after else f"at {timer.at:%H:%M}" if timer.at else ""
                label += f" ({when})"
            bucket = found.setdefault((source, t.dest), [])
            if label not in bucket:
                bucket.append(label)
    return found


def _label(text: str) -> str:
    """Mermaid labels cannot hold quotes, colons or semicolons unescaped."""
    return text.replace('"', "'").replace(":", " -").replace(";", ",")


def render(d: WorkflowDefinition) -> str:
    lines = ["stateDiagram-v2", f"    %% {d.id} v{d.version}: {_label(d.title)}"]
    for state in d.states:
        lines.append(f'    state "{_label(state.status)}" as {state.id}')
    lines.append(f"    [*] --> {d.initial}")
    for (source, dest), labels in edges(d).items():
        lines.append(f"    {source} --> {dest} : {_label(' / '.join(labels))}")
    for state in d.states:
        if state.final:
            lines.append(f"    {state.id} --> [*]")
    return "\n".join(lines) + "\n"
