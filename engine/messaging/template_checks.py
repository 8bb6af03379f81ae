"""Check designers' message templates before they are published: syntax, blocks, escaping never switched, and
every name a template uses present in the documented message context (found by rendering it in the sandbox with
sample values). A template error is a validation error with its file and line, not a failed send."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

from jinja2 import TemplateSyntaxError, nodes

from definitions.errors import Position, Problem, Severity
from definitions.shapes import IDENTIFIER
from engine.messaging.rendering import BLOCKS, SUFFIX, TemplateRenderer, TemplateRenderError, TemplateUndefinedError

# The context the template contract (docs, "Templates") promises, with made-up values: check_templates renders
# every template with it so that a misspelt or undocumented variable is a validation error, not a failed send.
SAMPLE_CONTEXT: Mapping[str, object] = {
    "practice": {"name": "Sample Family Practice", "phone": "555-0100"},
    "portal_url": "https://portal.example.org/",
    "patient": {"given_name": "Alex", "family_name": "Sample"},
    "guardian": {"given_name": "Jordan", "family_name": "Sample"},
    "pin": "SAMPLEPN",
    "pins": [{"child_name": "Alex Sample", "pin": "SAMPLEP1"}, {"child_name": "Sam Sample", "pin": "SAMPLEP2"}],
    "link": "https://portal.example.org/invite/sample-token",
    "expires_on": "July 1, 2030",
}
# The shipped templates treat expiry as optional, so both branches of `{% if expires_on is defined %}` are tried.
OPTIONAL_KEYS = frozenset({"expires_on"})

# Filters that return plain text, which the html block then escapes. Not: 'safe', 'tojson', 'urlize' and
# 'xmlattr' (their result is marked safe, so escaping skips it), nor 'map', 'select' and the like (they apply
# a filter named by a value). An allow-list, so a filter added to Jinja later is refused until judged.
FILTERS = frozenset({"abs", "capitalize", "center", "count", "d", "default", "e", "escape", "first", "float",
                     "indent", "int", "join", "last", "length", "list", "lower", "replace", "reverse", "round",
                     "sort", "string", "striptags", "sum", "title", "trim", "truncate", "unique", "upper",
                     "wordcount", "wordwrap"})

_At = Callable[..., Problem]


def check_templates(folder: Path) -> list[Problem]:
    """Every problem in the `*.j2` files of `folder`: syntax, blocks, escaping switched off, and names the
    documented context lacks (found by rendering with `SAMPLE_CONTEXT`). A template error is a validation
    error, found before publishing, not a failed send."""
    renderer = TemplateRenderer(folder)
    problems: list[Problem] = []
    for file in sorted(folder.glob("*" + SUFFIX)):
        # A fault in an included template is found again through each includer: report it once.
        problems.extend(p for p in _check_one(renderer, file) if p not in problems)
    return problems


def _check_one(renderer: TemplateRenderer, file: Path) -> list[Problem]:
    def at(line: int | None, message: str, severity: Severity = Severity.ERROR) -> Problem:
        return Problem(Position(str(file), line or 1, 1), message, severity)

    try:
        tree = renderer.environment.parse(file.read_text(encoding="utf-8"), file.name, str(file))
    except UnicodeDecodeError:
        return [at(1, "a template must be UTF-8 text")]
    except TemplateSyntaxError as error:
        return [at(error.lineno, f"template syntax error: {error.message}")]
    name = file.name[: -len(SUFFIX)]
    if not re.fullmatch(IDENTIFIER, name):
        return [at(1, "a template file name is lower-case letters, digits and '_', then .j2")]
    problems = _structure_problems(tree, at)
    if any(p.severity is Severity.ERROR for p in problems):
        return problems  # a trial render would only repeat these
    return problems + _trial_problems(renderer, file, name)


def _trial_problems(renderer: TemplateRenderer, file: Path, name: str) -> list[Problem]:
    """Render with the documented context, once whole and once without each optional key."""
    problems: list[Problem] = []
    documented = ", ".join(SAMPLE_CONTEXT)
    for left_out in (None, *sorted(OPTIONAL_KEYS)):
        try:
            renderer.render(name, {k: v for k, v in SAMPLE_CONTEXT.items() if k != left_out})
        except TemplateRenderError as error:
            if left_out is not None and repr(left_out) in error.detail:
                continue  # this trial is there to reach the `else` branches; the key's own absence is no fault
            hint = f" (the documented message context has: {documented})"
            found = Problem(Position(str(file.parent / error.template), error.line or 1, 1),
                            error.detail + (hint if isinstance(error, TemplateUndefinedError) else ""))
            if found not in problems:
                problems.append(found)
    return problems


def _structure_problems(tree: nodes.Template, at: _At) -> list[Problem]:
    problems: list[Problem] = []
    blocks = list(tree.find_all(nodes.Block))
    for block in blocks:
        if block.name not in BLOCKS:
            problems.append(at(block.lineno, f"unknown block '{block.name}': a template has only "
                                             "{% block subject %} (not for letters), {% block body %} (plain "
                                             "text) and {% block html %} (an email's HTML alternative)"))
    if "body" not in {block.name for block in blocks}:
        problems.append(at(1, "the template has no {% block body %}"))
    # Escaping follows the block (plain text never, html always): a security rule, not a style, so a template may
    # not switch it for a value.
    for modifier in tree.find_all(nodes.EvalContextModifier):
        if any(option.key == "autoescape" for option in modifier.options):
            problems.append(at(modifier.lineno, "a template may not switch HTML escaping off or on: the html block "
                                                "is always escaped, subject and body never are"))
    for used in tree.find_all(nodes.Filter):
        if used.name == "safe":
            problems.append(at(used.lineno, "the 'safe' filter is not allowed: every value in the html block is "
                                            "HTML-escaped"))
        elif used.name not in FILTERS:
            problems.append(at(used.lineno, f"the filter '{used.name}' is not allowed in a template (some filters "
                                            "return text that escaping leaves alone, e.g. 'tojson'); allowed: "
                                            + ", ".join(sorted(FILTERS))))
    # A version is published with the templates its messages name, so one template cannot pull in another.
    for pulled in (*tree.find_all(nodes.Include), *tree.find_all(nodes.Extends), *tree.find_all(nodes.Import),
                   *tree.find_all(nodes.FromImport)):
        problems.append(at(pulled.lineno, "a template may not include, extend or import another: each message's "
                                          "template is published with its workflow version on its own"))
    # Only the blocks are rendered, so anything written between them would silently go nowhere.
    for top in tree.body:
        if isinstance(top, nodes.Output) and any(not _blank(part) for part in top.nodes):
            problems.append(at(top.lineno, "text outside the blocks is never sent", Severity.WARNING))
    return problems


def _blank(node: nodes.Expr) -> bool:
    return isinstance(node, nodes.TemplateData) and not node.data.strip()
