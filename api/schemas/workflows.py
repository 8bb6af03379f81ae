"""Bodies describing workflow definitions: what a designer or a curious staff member reads."""

from __future__ import annotations

from pydantic import BaseModel, Field

from definitions.model import Call, WorkflowDefinition


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
