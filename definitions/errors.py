"""The exception families of PortalFlow and the positioned problems an authoring check reports.

Every error PortalFlow raises descends from `PortalFlowError`. Authoring errors (a workflow file a designer
wrote) and runtime errors (the engine refusing or failing at run time) are separate families under it, so a
caller can tell "fix the file" from "the request failed".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PortalFlowError(Exception):
    """Root of every error PortalFlow raises on purpose."""


class AuthoringError(PortalFlowError):
    """Something a designer wrote is wrong: a workflow file, a template, a scenario."""


class RuntimeFailure(PortalFlowError):
    """The running system refused or could not do what was asked."""


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    ACKNOWLEDGED = "acknowledged"  # a policy warning the workflow accepts, with its reason


@dataclass(frozen=True, slots=True)
class Position:
    """A place in a source file; line and column count from 1, as editors show them."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding of a check: where, what, and whether it stops validation."""

    position: Position
    message: str
    severity: Severity = Severity.ERROR
    code: str | None = None  # a policy warning's code, by which a workflow may acknowledge it

    def __str__(self) -> str:
        prefix = "" if self.severity is Severity.ERROR else f"{self.severity.value}: "
        return f"{self.position}: {prefix}{self.message}"


class DefinitionInvalid(AuthoringError):
    """A workflow definition has errors; `problems` lists every one with its position."""

    def __init__(self, problems: tuple[Problem, ...]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
