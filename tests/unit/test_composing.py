"""Composing a message: fields the practice left empty are left out of the template's context, so a template
that prints one holds the message with a reason naming that field; a template that tests for it renders; any
other template fault is not a hole but a fault of the version, and propagates."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pytest

from definitions.errors import Position
from definitions.model import Carries, Channel, Message, Recipient, WorkflowDefinition
from engine.messaging.composing import Composed, MessageFacts, compose
from engine.messaging.rendering import RenderedMessage, TemplateRenderer, TemplateSecurityError
from engine.messaging.sealing import filled
from engine.people.subjects import Household, Patient, Site

SITE = Site("main", "Smith & Jones", "America/New_York", "https://portal.example.org", None, False, None, None)


def person(ident: str, given: str | None, family: str | None, *, placeholder: bool = False) -> Patient:
    return Patient(ident, "main", given, family, placeholder, date(2018, 6, 1), None, None, None, False, None, None,
                   None, False, None)


class Folder:
    """The engine's renderer interface over one folder of templates."""

    def __init__(self, folder: Path) -> None:
        self.renderer = TemplateRenderer(folder)

    def render(self, definition: WorkflowDefinition, name: str, context: Mapping[str, object], *,
               html: bool = True) -> RenderedMessage:
        return self.renderer.render(name, context, html=html)


def composed(tmp_path: Path, body: str, facts: MessageFacts, *, to: Recipient = Recipient.PATIENT) -> Composed:
    (tmp_path / "note.j2").write_text("{% block body %}" + body + "{% endblock %}", encoding="utf-8")
    message = Message("note", "note", Channel.EMAIL, to, Carries.NOTHING, False, None, Position("w.yaml", 1, 1))
    return compose(Folder(tmp_path), None, message, facts)  # type: ignore[arg-type]


def test_a_template_that_tests_for_an_optional_field_renders_without_it(tmp_path: Path) -> None:
    done = composed(tmp_path, "Hi.{% if practice.phone is defined %} Call {{ practice.phone }}.{% endif %}",
                    MessageFacts(SITE, patient=person("p", "Mia", "Lopez")))
    assert done.held is None
    assert done.rendered is not None
    assert done.rendered.body == "Hi."


def test_a_template_that_prints_an_empty_field_holds_the_message_naming_it(tmp_path: Path) -> None:
    done = composed(tmp_path, "Dear {{ patient.given_name }}, call {{ practice.phone }}.",
                    MessageFacts(SITE, patient=person("p", "Mia", "Lopez")))
    assert done.rendered is None
    assert done.held == (
        "held: the site's phone number is empty (template note.j2, line 1: no key or attribute 'phone' on a dict "
        "object); fill it in, then do the step again")


def test_the_reason_names_the_guardian_not_a_child_when_the_guardians_name_is_printed(tmp_path: Path) -> None:
    household = Household("h", "main", "", "Lee", None, False, None, (person("c", "Baby Girl", "Lee",
                                                                             placeholder=True),))
    done = composed(tmp_path, "Dear {{ guardian.given_name }},",
                    MessageFacts(SITE, household=household, children=household.children), to=Recipient.GUARDIAN)
    assert (done.held or "").startswith("held: the guardian's given name is empty (template note.j2")


def test_a_field_the_message_cannot_have_is_named_as_a_template_fault(tmp_path: Path) -> None:
    done = composed(tmp_path, "Dear {{ guardian.given_name }},",
                    MessageFacts(SITE, patient=person("p", None, "Lopez", placeholder=False)))
    assert (done.held or "").startswith(
        "held: the template prints a field this message does not have (template note.j2, line 1:")


def test_a_sandbox_refusal_is_not_a_hole_and_propagates(tmp_path: Path) -> None:
    with pytest.raises(TemplateSecurityError):
        composed(tmp_path, "{{ practice.__class__ }}", MessageFacts(SITE, patient=person("p", "Mia", "Lopez")))


def test_a_secret_filled_into_the_html_part_is_escaped_and_into_the_text_is_not() -> None:
    secrets = {"link": 'https://x.example/a?b=1&c="2"<'}
    assert filled("Go: [[sealed:link]]", secrets) == 'Go: https://x.example/a?b=1&c="2"<'
    assert filled('<a href="[[sealed:link]]">', secrets, escape=True) == (
        '<a href="https://x.example/a?b=1&amp;c=&quot;2&quot;&lt;">')
