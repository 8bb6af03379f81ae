"""Render a workflow as Graphviz DOT for the pages' diagram (drawn in the browser by the vendored Viz.js), with the
business statuses staff know as labels, final states ringed twice, and one state highlighted when asked."""

from __future__ import annotations

import json

from definitions.mermaid import edges
from definitions.model import WorkflowDefinition


def _quoted(text: str) -> str:
    return json.dumps(text)  # a DOT string is a JSON string for the characters used here (quotes, backslashes)


def render(d: WorkflowDefinition, highlight: str | None = None) -> str:
    lines = [f"digraph {_quoted(d.id)} {{", '  graph [rankdir=LR, fontname="sans-serif", bgcolor="transparent"];',
             '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", color="#4a5562", '
             'fontname="sans-serif", fontcolor="#1b1f24"];',
             '  edge [color="#4a5562", fontname="sans-serif", fontsize=10, fontcolor="#1b1f24"];',
             '  start [shape=point, width=0.15, label=""];']
    for state in d.states:
        attributes = [f"label={_quoted(state.status)}", f"id={_quoted('state-' + state.id)}"]
        if state.final:
            attributes.append("peripheries=2")
        if state.id == highlight:
            attributes += ['fillcolor="#1d4f91"', 'fontcolor="#ffffff"', "penwidth=3"]
        lines.append(f"  {_quoted(state.id)} [{', '.join(attributes)}];")
    lines.append(f"  start -> {_quoted(d.initial)};")
    for (source, dest), labels in edges(d).items():
        lines.append(f"  {_quoted(source)} -> {_quoted(dest)} [label={_quoted(chr(10).join(labels))}];")
    return "\n".join(lines) + "\n}\n"
