"""The input rules of the vocabulary: each returns None when the step's value is acceptable, else a problem."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from definitions.model import Call, Step
from engine.fsm.context import TransitionContext
from engine.fsm.guards import username_problem
from engine.storage.tables import providers

COMMON_PASSWORDS = frozenset({
    "password", "password1", "password123", "123456789012", "qwertyuiop", "letmein", "welcome1", "iloveyou",
    "changeme", "administrator", "patientportal", "portal123",
})


def pcp_or_responsible_provider(ctx: TransitionContext, step: Step, value: Any, call: Call) -> str | None:
    person = ctx.subject.people()[0]
    specialist = ctx.subject.site().specialist_office
    expected = person.responsible_provider_id if specialist else person.pcp_id
    role = "responsible provider (specialist office)" if specialist else "PCP"
    if expected is None:
        return f"the patient has no {role} on file"
    if value != expected:
        name = ctx.conn.execute(select(providers.c.name).where(providers.c.id == expected)).scalar()
        return f"provider must be the patient's {role}: {name or expected}"
    return None


def must_be_empty(ctx: TransitionContext, step: Step, value: Any, call: Call) -> str | None:
    label = step.input.label if step.input and step.input.label else step.id
    return None if value in (None, "") else f"'{label}' must be empty"


def must_equal(ctx: TransitionContext, step: Step, value: Any, call: Call) -> str | None:
    expected = str(call.param("value"))
    label = step.input.label if step.input and step.input.label else step.id
    return None if str(value).lower() == expected.lower() else f"'{label}' must be '{expected}'"


def at_least(ctx: TransitionContext, step: Step, value: Any, call: Call) -> str | None:
    count = call.integer("count", 1)
    known = {c.id for c in ctx.subject.household().children}
    unknown = [v for v in value if v not in known]
    if unknown:
        return f"not children of this household: {', '.join(unknown)}"
    return None if len(value) >= count else f"select at least {count} child(ren)"


def valid_unique_username(ctx: TransitionContext, step: Step, value: Any, call: Call) -> str | None:
    return username_problem(ctx, str(value))


def strong_password(ctx: TransitionContext, step: Step, value: Any, call: Call) -> str | None:
    minimum = call.integer("min_length", 12)
    text = str(value)
    if len(text) < minimum:
        return f"the password must be at least {minimum} characters"
    if text.lower() in COMMON_PASSWORDS:
        return "the password is too common"
    return None
