"""The workflow language: typed model, YAML loader with source positions, checks, schema and diagrams.

This package imports nothing from `engine` or `api`; dependencies point api -> engine -> definitions.
"""

from definitions.builder import Surroundings
from definitions.catalog import check_paths, find_workflow, workflow_files
from definitions.dot import render as render_dot
from definitions.durations import Duration, parse_duration
from definitions.errors import (
    AuthoringError,
    DefinitionInvalid,
    PortalFlowError,
    Position,
    Problem,
    RuntimeFailure,
    Severity,
)
from definitions.loader import Outcome, load_workflow, read_workflow
from definitions.mermaid import render as render_mermaid
from definitions.model import WorkflowDefinition
from definitions.schema_export import workflow_schema
from definitions.vocabulary import Vocabulary, standard_vocabulary

__all__ = [
    "AuthoringError",
    "DefinitionInvalid",
    "Duration",
    "Outcome",
    "PortalFlowError",
    "Position",
    "Problem",
    "RuntimeFailure",
    "Severity",
    "Surroundings",
    "Vocabulary",
    "WorkflowDefinition",
    "check_paths",
    "find_workflow",
    "load_workflow",
    "parse_duration",
    "read_workflow",
    "render_dot",
    "render_mermaid",
    "standard_vocabulary",
    "workflow_files",
    "workflow_schema",
]
