"""Find and check workflow files: one file, a folder of them, or a workflow by id.

A folder is the designers' room: `*.yaml` workflows, `templates/*.j2` beside them, the handouts they cite.
Checking a folder also catches two files that claim the same (id, version).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from definitions.errors import AuthoringError, DefinitionInvalid, Position, Problem, Severity
from definitions.loader import Outcome, read_workflow, surroundings_of
from definitions.model import WorkflowDefinition
from definitions.vocabulary import Vocabulary, standard_vocabulary


@dataclass(frozen=True, slots=True)
class FileOutcome:
    path: Path
    outcome: Outcome


def workflow_files(paths: list[Path]) -> list[Path]:
    """Expand folders to their `*.yaml`/`*.yml` files (not recursive: scenarios live in a sub-folder)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        else:
            files.append(path)
    return files


def check_paths(paths: list[Path], vocabulary: Vocabulary | None = None) -> list[FileOutcome]:
    """Check every workflow under `paths`; a missing path is reported, never raised."""
    vocabulary = vocabulary or standard_vocabulary()
    results: list[FileOutcome] = []
    claimed: dict[tuple[str, int], Path] = {}
    for file in workflow_files(paths):
        if not file.is_file():
            missing = Problem(Position(str(file), 1, 1), "no such file or folder")
            results.append(FileOutcome(file, Outcome(None, (missing,))))
            continue
        text = file.read_text(encoding="utf-8")
        outcome = read_workflow(text, str(file), vocabulary, surroundings_of(file.parent))
        definition = outcome.definition
        if definition is not None and file.stem != definition.id:
            misnamed = Problem(Position(str(file), 1, 1), f"file name '{file.name}' does not match id "
                                                          f"'{definition.id}': name it {definition.id}.yaml",
                               Severity.WARNING)
            outcome = Outcome(definition, (*outcome.problems, misnamed))
        if definition is not None:
            key = (definition.id, definition.version)
            if key in claimed:
                clash = Problem(Position(str(file), 1, 1), f"workflow '{definition.id}' version {definition.version} "
                                                            f"is also defined in {claimed[key]}")
                outcome = Outcome(None, (*outcome.problems, clash))
            else:
                claimed[key] = file
        results.append(FileOutcome(file, outcome))
    return results


def find_workflow(ref: str, folder: Path, vocabulary: Vocabulary | None = None) -> WorkflowDefinition:
    """`ref` is a path to a workflow file or the id of one in `folder` (the highest version wins)."""
    as_path = Path(ref)
    if as_path.suffix in (".yaml", ".yml") or as_path.is_file():
        return _only(check_paths([as_path], vocabulary)[0])
    matches = [r for r in check_paths([folder], vocabulary) if r.outcome.definition is not None
               and r.outcome.definition.id == ref]
    if not matches:
        broken = [r for r in check_paths([folder], vocabulary) if r.path.stem == ref]
        if broken:
            return _only(broken[0])
        raise AuthoringError(f"no workflow with id '{ref}' in {folder}")
    best = max(matches, key=lambda r: r.outcome.definition.version if r.outcome.definition else 0)
    return _only(best)


def _only(result: FileOutcome) -> WorkflowDefinition:
    if result.outcome.definition is None:
        raise DefinitionInvalid(result.outcome.errors)
    return result.outcome.definition
