"""Build a `WorkflowDefinition` from YAML text, reporting every problem as `path:line:col: message`.

Reading happens in one pass over positioned nodes (`definitions.builder`), then the semantic and policy checks of
`checks` and `policy` run on the typed model. A workflow's content hash covers its text and the templates it uses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from definitions import checks, policy
from definitions.builder import Surroundings, WorkflowBuilder
from definitions.errors import DefinitionInvalid, Problem, Severity
from definitions.model import WorkflowDefinition
from definitions.reader import Reader
from definitions.vocabulary import Vocabulary, standard_vocabulary
from definitions.yamlnodes import parse_yaml


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of reading one workflow: the definition when it has no errors, and every problem found."""

    definition: WorkflowDefinition | None
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.WARNING)

    @property
    def acknowledged(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ACKNOWLEDGED)


def read_workflow(
    text: str, path: str, vocabulary: Vocabulary | None = None, surroundings: Surroundings | None = None
) -> Outcome:
    """Read and check one workflow text; never raises for a designer's mistake."""
    try:
        root = parse_yaml(text, path)
    except DefinitionInvalid as exc:
        return Outcome(None, exc.problems)
    builder = WorkflowBuilder(Reader(), vocabulary or standard_vocabulary(), surroundings or Surroundings())
    definition = builder.build(root, path, "")
    if definition is not None:
        used = {m.template for m in definition.messages}
        templates = tuple((name, body) for name, body in sorted(builder.surroundings.template_texts) if name in used)
        definition = replace(definition, content_hash=_content_hash(text, builder.surroundings, used), text=text,
                             templates=templates)
    problems = list(builder.reader.problems)
    if definition is not None and not problems:
        problems += checks.check(definition, builder.vocabulary)
        problems += policy.acknowledge(policy.warnings(definition), definition.acknowledged)
    has_errors = any(p.severity is Severity.ERROR for p in problems)
    # YAML aliases can put one node in several places: report each finding once.
    unique = dict.fromkeys(problems)
    ordered = tuple(sorted(unique, key=lambda p: (p.position.line, p.position.column)))
    return Outcome(None if has_errors else definition, ordered)


def load_workflow(path: Path | str, vocabulary: Vocabulary | None = None) -> WorkflowDefinition:
    """Load one workflow file with its templates and handout beside it; raise `DefinitionInvalid` on errors."""
    file = Path(path)
    outcome = read_workflow(file.read_text(encoding="utf-8"), str(path), vocabulary, surroundings_of(file.parent))
    if outcome.definition is None:
        raise DefinitionInvalid(outcome.errors)
    return outcome.definition


def surroundings_of(folder: Path) -> Surroundings:
    """Templates live in `templates/NAME.j2` beside the workflows; handouts are named relative to the folder."""
    template_files = sorted((folder / "templates").glob("*.j2"))
    return Surroundings(
        templates=frozenset(f.name[: -len(".j2")] for f in template_files),
        sources_root=folder,
        template_texts=tuple((f.name[: -len(".j2")], f.read_text(encoding="utf-8")) for f in template_files),
    )


def _content_hash(text: str, surroundings: Surroundings, used: set[str]) -> str:
    """The workflow text and the templates it uses: a change to either is a change of the workflow."""
    digest = hashlib.sha256(text.encode("utf-8"))
    for name, body in sorted(surroundings.template_texts):  # by name, wherever the texts came from
        if name not in used:
            continue
        digest.update(f"\0{name}\0".encode())
        digest.update(body.encode("utf-8"))
    return digest.hexdigest()
