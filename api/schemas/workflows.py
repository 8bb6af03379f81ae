"""Bodies describing workflow definitions: what a designer or a curious staff member reads."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from api.schemas.common import NOT_BLANK
from definitions.model import Call, WorkflowDefinition
from engine.enrollments.migration import OUTCOMES, MigrationReport
from engine.views.preview import MessagePreview


def _call(call: Call) -> str:
    params = ", ".join(f"{k}={v}" for k, v in call.params)
    return f"{call.name}({params})" if params else call.name


class StateOut(BaseModel):
    id: str = Field(examples=["pin_issued"])
    status: str = Field(examples=["Pending Registration"])
    description: str
    final: bool


class StepOut(BaseModel):
    id: str
    instruction: str
    optional: bool
    input_type: str | None
    options: list[str]


class TransitionOut(BaseModel):
    trigger: str = Field(examples=["regenerate_pin"])
    sources: list[str]
    dest: str
    by: str = Field(examples=["staff"])
    description: str | None
    reason: str
    guards: list[str]
    unless: list[str]
    steps: list[StepOut]
    effects: list[str]


class TimerOut(BaseModel):
    id: str
    state: str
    fires: str
    after: str | None
    at: str | None
    opening_hours: bool
    late: str
    description: str | None


class WorkflowSummary(BaseModel):
    id: str = Field(examples=["nextgen-regenerate-expired-pin"])
    version: int = Field(examples=[1])
    title: str
    subject: str = Field(examples=["patient"])
    content_hash: str


class WorkflowOut(WorkflowSummary):
    description: str | None
    initial: str
    states: list[StateOut]
    transitions: list[TransitionOut]
    timers: list[TimerOut]

    @classmethod
    def of(cls, d: WorkflowDefinition) -> WorkflowOut:
        return cls(
            id=d.id, version=d.version, title=d.title, subject=d.subject.value, content_hash=d.content_hash,
            description=d.description, initial=d.initial,
            states=[StateOut(id=s.id, status=s.status, description=s.description, final=s.final) for s in d.states],
            transitions=[TransitionOut(
                trigger=t.trigger, sources=list(t.sources), dest=t.dest, by=t.by.value, description=t.description,
                reason=t.reason.value, guards=[_call(g) for g in t.guards], unless=[_call(g) for g in t.unless],
                steps=[StepOut(id=s.id, instruction=s.instruction.strip(), optional=s.optional,
                               input_type=s.input.type.value if s.input else None,
                               options=list(s.input.options) if s.input else []) for s in t.steps],
                effects=[_call(e) for e in t.effects]) for t in d.transitions],
            timers=[TimerOut(id=t.id, state=t.state, fires=t.fire, after=str(t.after) if t.after else None,
                             at=t.at.isoformat(timespec="minutes") if t.at else None, opening_hours=t.opening_hours,
                             late=t.late.value, description=t.description) for t in d.timers])


def summary(d: WorkflowDefinition) -> WorkflowSummary:
    return WorkflowSummary(id=d.id, version=d.version, title=d.title, subject=d.subject.value,
                           content_hash=d.content_hash)


def _reason_to_move(reason: str | None, info: ValidationInfo) -> str | None:
    if not info.data.get("dry_run", True) and not (reason or "").strip():
        raise ValueError("moving enrollments to another version needs a reason for their history (or dry_run: true)")
    return reason


class MigrationIn(BaseModel):
    """A move needs a `reason`, not blank (each enrollment's history records it); a dry run does not."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "if": {"properties": {"dry_run": {"const": True}}, "required": ["dry_run"]},
        "else": {"properties": {"reason": {"type": "string", "pattern": NOT_BLANK}}, "required": ["reason"]},
        "examples": [{"to_version": 2, "dry_run": True},
                     {"to_version": 2, "map": {"waiting": "invited"},
                      "reason": "re-sends resume when the window allows"}]})
    to_version: int = Field(ge=1, le=1_000_000, description="the published version to move them to")
    map: dict[str, str] = Field(default_factory=dict, description="state of an older version -> state of the new")
    dry_run: bool = Field(default=False, description="say what would happen to each; change nothing")
    reason: Annotated[str | None, AfterValidator(_reason_to_move)] = Field(
        default=None, max_length=500, validate_default=True,
        description="for each history: required, not blank, unless dry_run")
    limit: int | None = Field(default=None, ge=1, le=100_000, description="move at most this many now")


class MigrationOutcomeOut(BaseModel):
    enrollment_id: str
    from_version: int
    from_state: str
    outcome: str = Field(description="moved, would move, blocked or changed meanwhile")
    to_state: str | None
    detail: str


class MigrationOut(BaseModel):
    workflow_id: str
    to_version: int
    dry_run: bool
    summary: str
    counts: dict[str, int]
    outcomes: list[MigrationOutcomeOut]

    @classmethod
    def of(cls, report: MigrationReport) -> MigrationOut:
        return cls(workflow_id=report.workflow_id, to_version=report.to_version, dry_run=report.dry_run,
                   summary=report.summary(), counts={o: report.count(o) for o in OUTCOMES},
                   outcomes=[MigrationOutcomeOut(enrollment_id=o.enrollment_id, from_version=o.from_version,
                                                 from_state=o.from_state, outcome=o.outcome, to_state=o.to_state,
                                                 detail=o.detail) for o in report.outcomes])


class MessagePreviewOut(BaseModel):
    workflow_id: str
    version: int
    message_id: str
    template: str
    channel: str = Field(examples=["email"])
    recipient: str | None = Field(description="the address an email would go to (none for a sample person)")
    sample_person: bool = Field(description="true: a made-up patient or household, not a real one")
    subject: str | None
    body: str | None = Field(description="the plain text, with [PIN] or [one-time link] where the secret goes")
    html: str | None = Field(description="the HTML alternative, when the template has one")
    held: str | None = Field(description="why the engine would hold the message instead of sending it")
    site_uses_workflow: bool = Field(description="false: nothing starts for this workflow at the site")

    @classmethod
    def of(cls, p: MessagePreview) -> MessagePreviewOut:
        return cls(workflow_id=p.workflow_id, version=p.version, message_id=p.message_id, template=p.template,
                   channel=p.channel, recipient=p.recipient, sample_person=p.sample_person, subject=p.subject,
                   body=p.body, html=p.html, held=p.held, site_uses_workflow=p.site_uses_workflow)
