"""Compose one message: the context its template sees, rendered with its workflow version's templates — or held,
with a reason staff can act on, when the template prints a field the practice has left empty.

The context (docs/workflow-language.md, "Templates") is plain data. Secrets never enter it: the template sees a
marker (`engine.messaging.sealing.marker`) and the secret goes to `secrets`, to be sealed into the outbox row.
A field that is empty is left out of the context rather than passed as "", so the sandbox's `StrictUndefined`
refuses a template that prints it, and the reason names the field ("the site's phone number is empty") instead
of sending "Call us at .". A template may still test for an optional field with
`{% if practice.phone is defined %}`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from definitions.model import Carries, Channel, Message, WorkflowDefinition
from engine.messaging.rendering import (
    RenderedMessage,
    TemplateEmptyValueError,
    TemplateRenderError,
    TemplateUndefinedError,
)
from engine.messaging.sealing import marker
from engine.people.subjects import Household, Patient, Site


class MessageRenderer(Protocol):
    def render(self, definition: WorkflowDefinition, name: str, context: Mapping[str, object], *,
               html: bool = True) -> RenderedMessage:
        """Render template `name` as the workflow version `definition` was published with it."""
        ...


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What one message is about. `pins` pairs each person whose PIN it carries with the PIN as shown (or a
    sample for a preview); `link` likewise."""

    site: Site
    patient: Patient | None = None  # a patient's enrollment
    household: Household | None = None  # a household's enrollment
    children: Sequence[Patient] = ()  # the household's selected children
    pins: Sequence[tuple[Patient, str]] = ()
    link: str | None = None
    expires_on: date | None = None


@dataclass(frozen=True, slots=True)
class Composed:
    """A rendered message and the secrets its markers stand for; or `held`, the reason it could not be written."""

    rendered: RenderedMessage | None
    secrets: dict[str, str] = field(default_factory=dict)
    held: str | None = None


def compose(renderer: MessageRenderer, definition: WorkflowDefinition, message: Message,
            facts: MessageFacts) -> Composed:
    context, secrets, empty = message_context(message, facts)
    try:
        rendered = renderer.render(definition, message.template, context, html=message.channel is Channel.EMAIL)
    except (TemplateUndefinedError, TemplateEmptyValueError) as error:
        # A hole in the message: the step goes on and the message waits. Any other template error (the sandbox
        # refusing, a template missing) is a fault of the workflow version: it propagates, and the whole
        # transition is rolled back, as every failing effect is.
        return Composed(None, held=held_reason(error, empty))
    return Composed(rendered, secrets)


def held_reason(error: TemplateRenderError, empty: Mapping[str, str]) -> str:
    """The error (file, line, name; never a value) and, when it is a field left empty, which one to fill in."""
    if error.path is not None:
        reasons = [empty[error.path]] if error.path in empty else []
    else:
        reasons = list(dict.fromkeys(why for path, why in empty.items()
                                     if error.name and path.rsplit(".", 1)[-1] == error.name))
    if reasons:
        return f"held: {' or '.join(reasons)} ({error}); fill it in, then do the step again"
    return (f"held: the template prints a field this message does not have ({error}); correct the template in a "
            "new version of the workflow")


def message_context(message: Message, facts: MessageFacts) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """(the template's context, the secrets behind its markers, why each field left out is missing)."""
    empty: dict[str, str] = {}

    def given(path: str, value: str | None, why: str | None) -> dict[str, str]:
        if value and value.strip():
            return {path.rsplit(".", 1)[-1]: value}
        if why is not None:  # None: the message has no such person, which is no field anyone can fill in
            empty[path] = why
        return {}

    site = facts.site
    context: dict[str, Any] = {"practice": given("practice.name", site.name, "the site's name is empty")
                               | given("practice.phone", site.phone, "the site's phone number is empty")}
    context |= given("portal_url", site.portal_url, "the site's portal address is empty")
    guardian = facts.household
    person = facts.patient if guardian is None else (facts.children[0] if facts.children else None)
    context["patient"] = {}
    if person is not None:
        for part, word in (("given_name", "given"), ("family_name", "family")):
            why = (f"the patient's name '{person.display_name}' is still a placeholder" if person.name_is_placeholder
                   else f"the patient's {word} name is empty")
            context["patient"] |= given(f"patient.{part}", None if person.name_is_placeholder
                                        else getattr(person, part), why)
    context["guardian"] = {} if guardian is None else (
        given("guardian.given_name", guardian.guardian_given_name, "the guardian's given name is empty")
        | given("guardian.family_name", guardian.guardian_family_name, "the guardian's family name is empty"))
    secrets: dict[str, str] = {}
    if message.carries is Carries.PIN:
        if facts.pins:
            secrets["pin"] = facts.pins[0][1]
            context["pin"] = marker("pin")
        else:
            empty["pin"] = "no PIN was issued in this step"
    pins = []
    for i, (child, pin) in enumerate(facts.pins if message.channel is Channel.LETTER else ()):
        secrets[f"pin{i}"] = pin
        pins.append({"child_name": child.display_name, "pin": marker(f"pin{i}")})
    context["pins"] = pins
    if message.carries is Carries.LINK:
        if facts.link:
            secrets["link"] = facts.link
            context["link"] = marker("link")
        else:
            empty["link"] = "no link was issued in this step"
    if facts.expires_on is not None:
        context["expires_on"] = facts.expires_on.isoformat()
    return context, secrets, empty
