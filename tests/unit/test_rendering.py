"""Message templates render in the sandbox, escaped, from plain data, and fail without leaking what they carry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import MappingProxyType

import pytest
from markupsafe import Markup

from definitions.errors import RuntimeFailure, Severity
from engine.messaging.rendering import (
    RenderedMessage,
    TemplateEmptyValueError,
    TemplateRenderer,
    TemplateRenderError,
    TemplateSecurityError,
    TemplateUndefinedError,
)
from engine.messaging.template_checks import check_templates
from engine.messaging.template_context import TemplateContextError

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "workflows" / "templates"
SECRET_PIN = "K7QW2M9X"
SECRET_LINK = "https://portal.example.org/invite/Zx81-secret-token"

Write = Callable[[str, str], TemplateRenderer]


def a_context() -> dict[str, object]:
    """What the engine hands a template: the documented keys, with values a test can look for."""
    return {
        "practice": {"name": "Lakeside Pediatrics", "phone": "555-0123"},
        "portal_url": "https://portal.example.org/",
        "patient": {"given_name": "Mia", "family_name": "Lopez"},
        "guardian": {"given_name": "Ana", "family_name": "Lopez"},
        "pin": SECRET_PIN,
        "pins": [{"child_name": "Mia Lopez", "pin": "MIAPIN22"}, {"child_name": "Leo Lopez", "pin": "LEOPIN33"}],
        "link": SECRET_LINK,
        "expires_on": "March 3, 2031",
    }


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """Write `NAME.j2` into a fresh templates folder and hand back a renderer for that folder."""

    def write(name: str, text: str) -> TemplateRenderer:
        (tmp_path / f"{name}.j2").write_text(text, encoding="utf-8")
        return TemplateRenderer(tmp_path)

    return write


def test_plain_text_arrives_as_written_and_is_never_html_escaped(write: Write) -> None:
    renderer = write("hello", "{% block subject %}Hi {{ patient.given_name }}{% endblock %}"
                              "{% block body %}Dear {{ patient.given_name }},{% endblock %}")
    context = a_context() | {"patient": {"given_name": "Mia & Leo <twins>"}}
    message = renderer.render("hello", context)
    assert message.body == "Dear Mia & Leo <twins>,"
    assert message.subject == "Hi Mia & Leo <twins>"
    assert message.html is None


def test_the_html_block_escapes_every_value_and_the_text_blocks_do_not(write: Write) -> None:
    renderer = write("hello", "{% block body %}Dear {{ patient.given_name }},{% endblock %}"
                              "{% block html %}<p>Dear {{ patient.given_name }},</p>{% endblock %}")
    context = a_context() | {"patient": {"given_name": "<script>alert(1)</script> & co"}}
    message = renderer.render("hello", context)
    assert message.html == "<p>Dear &lt;script&gt;alert(1)&lt;/script&gt; &amp; co,</p>"
    assert message.body == "Dear <script>alert(1)</script> & co,"


def test_a_plain_text_message_leaves_the_html_block_out_when_asked(write: Write) -> None:
    renderer = write("hello", "{% block body %}Hi{% endblock %}{% block html %}<p>Hi</p>{% endblock %}")
    assert renderer.render("hello", a_context(), html=False).html is None


@pytest.mark.parametrize("empty", ["", "   ", None])
def test_a_value_that_prints_as_nothing_refuses_the_render_naming_file_and_line(
        write: Write, empty: str | None) -> None:
    renderer = write("hello", "{% block body %}Your PIN: {{ pin }}\nQuestions? Call us at {{ practice.phone }}."
                              "{% endblock %}")
    with pytest.raises(TemplateEmptyValueError) as caught:
        renderer.render("hello", a_context() | {"practice": {"name": "Lakeside", "phone": empty}})
    assert str(caught.value) == "template hello.j2, line 2: prints an empty value"
    assert SECRET_PIN not in str(caught.value)


def test_the_html_block_that_renders_to_nothing_adds_no_blank_part(write: Write) -> None:
    renderer = write("hello", "{% block body %}Hi{% endblock %}{% block html %}{% if 0 %}<p>x</p>{% endif %}"
                              "{% endblock %}")
    assert renderer.render("hello", a_context()).html is None


def test_a_missing_key_written_in_the_template_is_named_for_the_caller(write: Write) -> None:
    renderer = write("hello", "{% block body %}Call us at {{ practice.phone }}.{% endblock %}")
    with pytest.raises(TemplateUndefinedError) as caught:
        renderer.render("hello", a_context() | {"practice": {"name": "Lakeside"}})
    assert (caught.value.name, caught.value.path) == ("phone", "practice.phone")


def test_a_mapping_becomes_a_plain_dict_read_with_attribute_syntax(write: Write) -> None:
    renderer = write("hello", "{% block body %}{{ patient.given_name }} {{ patient['family_name'] }}{% endblock %}")
    context = a_context() | {"patient": MappingProxyType({"given_name": "Mia", "family_name": "Lopez"})}
    assert renderer.render("hello", context).body == "Mia Lopez"


def test_the_subject_is_one_line_and_the_body_loses_only_its_outer_blank_lines(write: Write) -> None:
    renderer = write("hello", "{% block subject %}\n  Your   PIN\n  for {{ practice.name }}\n{% endblock %}\n"
                              "{% block body %}\n\n  Line one\n\n  Line two\n\n{% endblock %}\n")
    assert renderer.render("hello", a_context()) == RenderedMessage(
        subject="Your PIN for Lakeside Pediatrics", body="Line one\n\n  Line two")


def test_a_date_is_plain_data(write: Write) -> None:
    renderer = write("hello", "{% block body %}Expires {{ expires_on }}{% endblock %}")
    assert renderer.render("hello", a_context() | {"expires_on": date(2031, 3, 3)}).body == "Expires 2031-03-03"


def test_a_missing_variable_fails_naming_file_line_and_variable_but_not_the_pin(write: Write) -> None:
    renderer = write("notice", "{% block body %}\nYour PIN: {{ pin }}\nCall {{ practice.phone }} or {{ helpdesk }}\n"
                               "{% endblock %}")
    with pytest.raises(TemplateUndefinedError) as caught:
        renderer.render("notice", a_context())
    message = str(caught.value)
    assert "notice.j2" in message
    assert "line 3" in message
    assert "'helpdesk'" in message
    assert SECRET_PIN not in message


def test_a_missing_key_names_the_key_and_quotes_no_value(write: Write) -> None:
    renderer = write("notice", "{% block body %}\n{{ pin }} {{ link }} {{ patient.middle_name }}{% endblock %}")
    with pytest.raises(TemplateUndefinedError, match=r"line 2: no key or attribute 'middle_name'") as caught:
        renderer.render("notice", a_context())
    assert SECRET_PIN not in str(caught.value)
    assert SECRET_LINK not in str(caught.value)


def test_a_key_taken_from_the_context_is_withheld_from_the_error(write: Write) -> None:
    # Jinja's own message would say "'dict object' has no attribute 'K7QW2M9X'": the PIN, in a log line.
    renderer = write("notice", "{% block body %}{{ patient[pin] }}{% endblock %}")
    with pytest.raises(TemplateUndefinedError) as caught:
        renderer.render("notice", a_context())
    assert SECRET_PIN not in str(caught.value)
    assert "withheld" in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


class PatientRow:
    """Stands for an ORM row: an object whose attributes a template could walk."""

    given_name = "Mia"


@pytest.mark.parametrize(("change", "path"), [
    ({"patient": PatientRow()}, "patient"),
    ({"pins": [{"child_name": "Mia", "pin": "A"}, {"child_name": "Leo", "pin": PatientRow()}]}, "pins[1].pin"),
    ({"practice": {"name": Markup("<b>Lakeside</b>")}}, "practice.name"),
    ({"patient": {"items": "a key a dict method would hide"}}, "patient.items"),
    ({"patient": {1: "not a str key"}}, "patient[1]"),
])
def test_a_non_plain_value_in_the_context_is_refused_naming_its_key_path(
    write: Write, change: dict[str, object], path: str,
) -> None:
    renderer = write("hello", "{% block body %}Hello{% endblock %}")
    with pytest.raises(TemplateContextError) as caught:
        renderer.render("hello", a_context() | change)
    assert caught.value.path == path
    assert f"'{path}'" in str(caught.value)


def test_a_context_that_contains_itself_is_refused(write: Write) -> None:
    renderer = write("hello", "{% block body %}Hello{% endblock %}")
    loop: dict[str, object] = {}
    loop["again"] = loop
    with pytest.raises(TemplateContextError, match="contains itself"):
        renderer.render("hello", {"patient": loop})


@pytest.mark.parametrize("expression", [
    "''.__class__.__mro__",
    "cycler.__init__.__globals__",
    "pins.append('EXTRA')",
    "practice.update({'name': 'x'})",
])
def test_the_sandbox_refuses_to_reach_python_internals_or_change_the_context(write: Write, expression: str) -> None:
    renderer = write("evil", "{% block body %}\n{{ " + expression + " }}{% endblock %}")
    with pytest.raises(TemplateSecurityError, match=r"evil\.j2, line 2: refused by the sandbox") as caught:
        renderer.render("evil", a_context())
    assert "<class" not in str(caught.value)
    assert "__builtins__" not in str(caught.value)


def test_the_check_reports_a_sandbox_refusal(tmp_path: Path) -> None:
    (tmp_path / "evil.j2").write_text("{% block body %}{{ ''.__class__.__mro__ }}{% endblock %}", encoding="utf-8")
    [problem] = check_templates(tmp_path)
    assert "refused by the sandbox" in problem.message


def test_a_syntax_error_is_reported_by_the_check_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "broken.j2").write_text("{% block body %}\nDear {{ patient.given_name }},\n\n"
                                        "Your PIN: {{ pin }\n{% endblock %}\n", encoding="utf-8")
    [problem] = check_templates(tmp_path)
    assert problem.position.path == str(tmp_path / "broken.j2")
    assert problem.position.line == 4
    assert problem.message.startswith("template syntax error")


def test_a_syntax_error_met_at_render_time_names_file_and_line(write: Write) -> None:
    renderer = write("broken", "{% block body %}\n{% if pin %}\nYour PIN: {{ pin }}\n{% endblock %}")
    with pytest.raises(TemplateRenderError, match=r"broken\.j2, line 4"):
        renderer.render("broken", a_context())


def test_the_check_names_a_variable_beyond_the_documented_context(tmp_path: Path) -> None:
    (tmp_path / "typo.j2").write_text("{% block body %}\nDear {{ patient.given_name }},\n{{ portal_link }}\n"
                                      "{% endblock %}\n", encoding="utf-8")
    [problem] = check_templates(tmp_path)
    assert problem.position.line == 3
    assert "undefined variable 'portal_link'" in problem.message


def test_the_check_also_reaches_the_branch_taken_when_expiry_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "branch.j2").write_text("{% block body %}\n{% if expires_on is defined %}Until {{ expires_on }}"
                                        "{% else %}\nSoon, see {{ pratice.name }}{% endif %}\n{% endblock %}\n",
                                        encoding="utf-8")
    [problem] = check_templates(tmp_path)
    assert problem.position.line == 3
    assert "'pratice'" in problem.message


@pytest.mark.parametrize(("text", "expected"), [
    ("{% block subject %}Hi{% endblock %}", "no {% block body %}"),
    ("{% block subjet %}Hi{% endblock %}{% block body %}Hello{% endblock %}", "unknown block 'subjet'"),
    ("{% block body %}{{ patient.given_name|safe }}{% endblock %}", "'safe' filter is not allowed"),
    ("{% block body %}Hi{% endblock %}{% block html %}<p title={{ patient.given_name|tojson }}>{% endblock %}",
     "the filter 'tojson' is not allowed"),
    ("{% block body %}{{ pins|map('safe')|join }}{% endblock %}", "the filter 'map' is not allowed"),
    ("{% block body %}{% filter urlize %}{{ link }}{% endfilter %}{% endblock %}", "the filter 'urlize' is not"),
    ("{% block body %}{% autoescape false %}{{ pin }}{% endautoescape %}{% endblock %}", "may not switch HTML"),
    ("{% block body %}{% include 'footer.j2' %}{% endblock %}", "may not include, extend or import another"),
    ("{% extends 'base.j2' %}{% block body %}Hi{% endblock %}", "may not include, extend or import another"),
])
def test_the_check_reports_a_template_that_breaks_the_contract(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "bad.j2").write_text(text, encoding="utf-8")
    [problem] = check_templates(tmp_path)
    assert expected in problem.message
    assert problem.severity is Severity.ERROR


def test_the_check_warns_that_text_outside_the_blocks_is_never_sent(tmp_path: Path) -> None:
    (tmp_path / "footer.j2").write_text("{% block body %}Hello{% endblock %}\n\nKind regards\n", encoding="utf-8")
    [problem] = check_templates(tmp_path)
    assert problem.severity is Severity.WARNING
    assert problem.position.line == 1


def test_an_unknown_template_and_a_name_reaching_outside_the_folder_are_refused(write: Write) -> None:
    renderer = write("hello", "{% block body %}Hello{% endblock %}")
    with pytest.raises(TemplateRenderError, match="no such template"):
        renderer.render("goodbye", a_context())
    with pytest.raises(TemplateRenderError, match="lower-case letters"):
        renderer.render("../hello", a_context())


def test_a_template_is_compiled_once_per_renderer(write: Write, tmp_path: Path) -> None:
    renderer = write("hello", "{% block body %}First{% endblock %}")
    assert renderer.render("hello", a_context()).body == "First"
    (tmp_path / "hello.j2").write_text("{% block body %}Second{% endblock %}", encoding="utf-8")
    assert renderer.render("hello", a_context()).body == "First"
    assert renderer.template("hello") is renderer.template("hello")


def test_template_errors_at_run_time_are_runtime_failures() -> None:
    assert issubclass(TemplateRenderError, RuntimeFailure)
    assert issubclass(TemplateContextError, RuntimeFailure)


# The shipped templates -------------------------------------------------------------------------------------------

SHIPPED_NAMES = sorted(f.stem for f in SHIPPED.glob("*.j2"))
LETTERS = ["pin_printout", "sibling_pin_printout"]


def test_the_shipped_templates_have_no_problems() -> None:
    assert check_templates(SHIPPED) == []


@pytest.mark.parametrize("name", SHIPPED_NAMES)
@pytest.mark.parametrize("expiry_known", [True, False])
def test_every_shipped_template_renders_with_the_documented_context(name: str, expiry_known: bool) -> None:
    context = a_context()
    if not expiry_known:
        del context["expires_on"]
    message = TemplateRenderer(SHIPPED).render(name, context)
    assert "Lakeside Pediatrics" in message.body
    assert ("March 3, 2031" in message.body) is expiry_known
    assert (message.subject is None) is (name in LETTERS)


@pytest.mark.parametrize("name", LETTERS)
def test_a_letter_renders_without_a_subject_and_lists_each_childs_pin(name: str) -> None:
    message = TemplateRenderer(SHIPPED).render(name, a_context())
    assert message.subject is None
    assert "Mia Lopez: PIN MIAPIN22" in message.body
    assert "Leo Lopez: PIN LEOPIN33" in message.body


@pytest.mark.parametrize(("name", "secret"), [
    ("email_enrollment_notification", SECRET_PIN),
    ("intellichart_welcome_email", SECRET_PIN),
    ("portal_invitation_reset", SECRET_LINK),
    ("pxp_portal_invitation", SECRET_LINK),
])
def test_an_email_carries_its_pin_or_link_and_has_a_one_line_subject(name: str, secret: str) -> None:
    message = TemplateRenderer(SHIPPED).render(name, a_context())
    assert secret in message.body
    assert message.subject
    assert "\n" not in message.subject


@pytest.mark.parametrize("body", [
    "{{ 'x' * 1000000000 }}",
    "{{ ('x' * 100000000) ~ ('y' * 100000000) }}",
    "{{ 1000000000 * 'x' }}",
    "{{ pins * 100000000 }}",
    "{{ 10 ** 100000 }}",
    "{% for i in range(100000) %}{{ practice.name }}{% endfor %}",
])
def test_a_template_cannot_build_a_huge_text_and_the_check_says_so(write: Write, tmp_path: Path, body: str) -> None:
    renderer = write("huge", "{% block body %}" + body + "{% endblock %}")
    with pytest.raises(TemplateSecurityError, match=r"builds more than 100000 characters"):
        renderer.render("huge", a_context())
    [problem] = check_templates(tmp_path)
    assert "builds more than 100000 characters" in problem.message


def test_ordinary_arithmetic_and_repetition_still_work(write: Write) -> None:
    renderer = write("small", "{% block body %}{{ '-' * 20 }} {{ 2 ** 10 }} {{ 3 * 4 }}{% endblock %}")
    assert renderer.render("small", a_context()).body == "-" * 20 + " 1024 12"
