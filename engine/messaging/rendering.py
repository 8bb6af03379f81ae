"""Render designers' message templates (`workflows/templates/NAME.j2`) safely (checked before publishing by
`engine.messaging.template_checks`).

This is the Jinja2 adapter at the engine's edge. Templates are written by process designers, not programmers,
and the values poured into them include PINs, invite links and patients' names, so (DESIGN.md, "Security and
privacy rules") they render in Jinja2's immutable sandbox with `StrictUndefined`, from a minimal context of plain
data only: never an ORM row whose attributes a template could walk.

A template has an optional `{% block subject %}` (letters have none), a `{% block body %}` in plain text and an
optional `{% block html %}`, the HTML alternative of an email. Each block is rendered on its own: subject and body
as plain text, never HTML-escaped (a patient's "&" arrives as "&"), the html block with every value
HTML-escaped. A value that prints as nothing (empty, blank or None) refuses the render, like a missing one: a
message with a hole ("Call us at .") is never produced. Errors name the template file, the line and the missing
name but never quote a value from the context, because an error message ends up in logs and a PIN or a link must
never get there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from jinja2 import (
    BaseLoader,
    DictLoader,
    FileSystemLoader,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
    nodes,
)
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from definitions.errors import RuntimeFailure
from definitions.model import WorkflowDefinition
from definitions.shapes import IDENTIFIER
from engine.messaging.sandbox import MAX_TEXT, EmptyValue, NameRefused, Sandbox, StrictNames, TooLarge, refuse_empty
from engine.messaging.template_context import plain_context

SUFFIX = ".j2"
BLOCKS = ("subject", "body", "html")
TEXT_BLOCKS = ("subject", "body")

_WITHHELD = "<withheld: a name taken from the context>"


class TemplateRenderError(RuntimeFailure):
    """A template could not be rendered. The message names file, line and name, never a context value."""

    def __init__(self, template: str, line: int | None, detail: str, *, name: str | None = None,
                 path: str | None = None) -> None:
        self.template = template
        self.line = line
        self.detail = detail
        self.name = name  # the missing or empty name, only when the template spells it out (never a value)
        self.path = path  # its dotted path ("practice.phone") when the line shows which one it is
        where = template if line is None else f"{template}, line {line}"
        super().__init__(f"template {where}: {detail}")


class TemplateUndefinedError(TemplateRenderError):
    """A template used a variable, key or attribute the context does not have (StrictUndefined)."""


class TemplateEmptyValueError(TemplateRenderError):
    """A template printed a value that is empty, blank or None: the message would have a hole in it."""


class TemplateSecurityError(TemplateRenderError):
    """The sandbox refused something a template tried to reach (`__class__`, an unsafe call, a mutation)."""


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A rendered message: `subject` is one line (None for a letter), `body` is the plain text without outer
    blanks, `html` the HTML alternative when the template has one."""

    subject: str | None
    body: str
    html: str | None = None


class TemplateRenderer:
    """Renders `NAME.j2` templates of one folder, or of the texts a workflow version was published with. Compiled
    templates are kept, so a render is cheap enough to run inside the engine's transaction; build one renderer per
    folder (or version) and share it."""

    def __init__(self, folder: Path | None = None, *, texts: Mapping[str, str] | None = None) -> None:
        self.folder = folder
        self._where = str(folder) if folder is not None else "this workflow version's templates"
        loader: BaseLoader = FileSystemLoader(folder) if folder is not None else DictLoader(
            {name + SUFFIX: text for name, text in (texts or {}).items()})
        # One source, compiled twice: plain text (subject, body) is never escaped, the html block always is.
        self._env, self._html_env = (Sandbox(
            loader=loader,
            undefined=StrictNames,
            autoescape=escaped,
            finalize=refuse_empty,
            auto_reload=False,  # a published definition's templates do not change under a running engine
        ) for escaped in (False, True))
        self._compiled: dict[str, Template] = {}
        self._compiled_html: dict[str, Template] = {}

    @property
    def environment(self) -> ImmutableSandboxedEnvironment:
        """The sandboxed environment, for checks that parse without rendering."""
        return self._env

    def render(self, name: str, context: Mapping[str, object], *, html: bool = True) -> RenderedMessage:
        """Render template `name` (file `NAME.j2`) with a context of plain data; `html=False` skips the html
        block (a letter or a vendor's secure message is plain text only)."""
        variables = plain_context(context)
        template = self.template(name)
        subject = self._block(template, "subject", variables) if "subject" in template.blocks else None
        markup = None
        if html and "html" in template.blocks:
            markup = self._block(self._html_template(name), "html", variables).strip() or None  # no blank part
        return RenderedMessage(
            subject=None if subject is None else " ".join(subject.split()),
            body=self._block(template, "body", variables).strip(),
            html=markup,
        )

    def _html_template(self, name: str) -> Template:
        found = self._compiled_html.get(name)
        if found is None:
            self.template(name)  # the name and the source are checked once, by the plain-text compile
            found = self._compiled_html[name] = self._html_env.get_template(name + SUFFIX)
        return found

    def template(self, name: str) -> Template:
        """The compiled template `NAME.j2`, compiled on first use only."""
        found = self._compiled.get(name)
        if found is not None:
            return found
        file_name = name + SUFFIX
        if not re.fullmatch(IDENTIFIER, name):
            # Only plain names: no sub-folders, no '..', nothing outside the designers' templates folder.
            raise TemplateRenderError(file_name, None, "a template name is lower-case letters, digits and '_'")
        try:
            template = self._env.get_template(file_name)
        except TemplateNotFound:
            raise TemplateRenderError(file_name, None, f"no such template in {self._where}") from None
        except TemplateSyntaxError as error:
            raise TemplateRenderError(error.name or file_name, error.lineno, error.message or "syntax error") from None
        if "body" not in template.blocks:
            raise TemplateRenderError(file_name, None, "no {% block body %}")
        self._compiled[name] = template
        return template

    def _block(self, template: Template, block: str, variables: dict[str, object]) -> str:
        try:
            parts, size = [], 0
            for part in template.blocks[block](template.new_context(variables)):
                size += len(part)
                if size > MAX_TEXT:  # e.g. a loop over range(100000): stop before the message grows further
                    raise TooLarge()
                parts.append(part)
            return "".join(parts)
        except Exception as error:  # every failure becomes one error type, with values withheld
            # `from None`: the original exception's text may quote a context value, so it is not chained.
            raise self._explain(error, template.name or "?") from None

    def _explain(self, error: Exception, fallback: str) -> TemplateRenderError:
        where, line = _where_in_template(error.__traceback__)
        template = where or fallback
        if isinstance(error, TooLarge):
            return TemplateSecurityError(template, line, f"refused by the sandbox: builds more than {MAX_TEXT} "
                                                         "characters")
        if isinstance(error, EmptyValue):
            return TemplateEmptyValueError(template, line, "prints an empty value")
        if isinstance(error, NameRefused) and error.name is not None:
            name = self._shown(error.name, template)
            written = str(error.name) if name != _WITHHELD else None
            if error.unsafe:
                return TemplateSecurityError(template, line, f"refused by the sandbox: access to {name}")
            path = _path_at(self._env, template, line, written) if written else None
            if error.owner is None:
                return TemplateUndefinedError(template, line, f"undefined variable {name}", name=written, path=path)
            return TemplateUndefinedError(template, line, f"no key or attribute {name} on a {error.owner}",
                                          name=written, path=path)
        if isinstance(error, SecurityError) or (isinstance(error, NameRefused) and error.unsafe):
            return TemplateSecurityError(template, line, "refused by the sandbox: an unsafe operation")
        if isinstance(error, UndefinedError):
            return TemplateUndefinedError(template, line, "an undefined value was used")
        if isinstance(error, TemplateSyntaxError):  # in an included template
            return TemplateRenderError(error.name or template, error.lineno, error.message or "syntax error")
        if isinstance(error, TemplateNotFound):
            return TemplateRenderError(template, line, "includes a template that does not exist")
        return TemplateRenderError(template, line, f"{type(error).__name__} while rendering")

    def _shown(self, name: object, template: str) -> str:
        """Quote `name` only if the designer wrote it in the template: one taken from the context could be a PIN."""
        if isinstance(name, str | int) and name in _names_written_in(self._env, template):
            return repr(name)
        return _WITHHELD


def _where_in_template(tb: TracebackType | None) -> tuple[str | None, int | None]:
    """The innermost template frame of a traceback, as (template name, source line)."""
    found: tuple[str | None, int | None] = (None, None)
    while tb is not None:
        template = tb.tb_frame.f_globals.get("__jinja_template__")
        if isinstance(template, Template):
            found = (template.name, template.get_corresponding_lineno(tb.tb_lineno))
        tb = tb.tb_next
    return found


def _tree(env: ImmutableSandboxedEnvironment, template: str) -> nodes.Template | None:
    if env.loader is None:
        return None
    try:
        source, _, _ = env.loader.get_source(env, template)
        return env.parse(source)
    except Exception:  # without the source nothing can be shown safely
        return None


def _path_at(env: ImmutableSandboxedEnvironment, template: str, line: int | None, name: str) -> str | None:
    """The one dotted path ending in `name` written on `line` (`guardian.given_name`), if only one is."""
    tree = _tree(env, template)
    if tree is None or line is None:
        return None
    paths = {f"{n.node.name}.{n.attr}" for n in tree.find_all(nodes.Getattr)
             if n.lineno == line and n.attr == name and isinstance(n.node, nodes.Name)}
    paths |= {n.name for n in tree.find_all(nodes.Name) if n.lineno == line and n.name == name}
    return paths.pop() if len(paths) == 1 else None


def _names_written_in(env: ImmutableSandboxedEnvironment, template: str) -> frozenset[object]:
    """Every variable, attribute and constant spelt out in a template's source (only read when reporting)."""
    tree = _tree(env, template)
    if tree is None:
        return frozenset()
    names: set[object] = {n.name for n in tree.find_all(nodes.Name)}
    names |= {n.attr for n in tree.find_all(nodes.Getattr)}
    names |= {n.value for n in tree.find_all(nodes.Const) if type(n.value) in (str, int)}
    return frozenset(names)


class VersionRenderers:
    """One renderer per published workflow version, over the templates it was published with: a message of a
    running enrollment reads as its version's template does, whatever the designers' folder holds now."""

    def __init__(self) -> None:
        self._by_version: dict[str, TemplateRenderer] = {}

    def render(self, definition: WorkflowDefinition, name: str, context: Mapping[str, object], *,
               html: bool = True) -> RenderedMessage:
        renderer = self._by_version.get(definition.content_hash)
        if renderer is None:  # two threads may both build one: the same templates, so either will do
            renderer = TemplateRenderer(texts=dict(definition.templates))
            self._by_version[definition.content_hash] = renderer
        return renderer.render(name, context, html=html)
