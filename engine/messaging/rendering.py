"""Render designers' message templates (`workflows/templates/NAME.j2`) safely (checked before publishing by
`engine.messaging.template_checks`).

This is the Jinja2 adapter at the engine's edge. Templates are written by process designers, not programmers,
and the values poured into them include PINs, invite links and patients' names, so (DESIGN.md, "Security and
privacy rules") they render in Jinja2's immutable sandbox with `StrictUndefined` and HTML autoescaping, from a
minimal context of plain data only: never an ORM row whose attributes a template could walk.

A template has an optional `{% block subject %}` (letters have none) and a `{% block body %}`; each block is
rendered on its own. Errors name the template file, the line and the missing name but never quote a value from
the context, because an error message ends up in logs and a PIN or a link must never get there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

from jinja2 import (
    BaseLoader,
    DictLoader,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
    nodes,
)
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing, object_type_repr

from definitions.errors import RuntimeFailure
from definitions.model import WorkflowDefinition
from definitions.shapes import IDENTIFIER

SUFFIX = ".j2"
BLOCKS = ("subject", "body")

_SCALARS = (str, int, float, bool, type(None), date, datetime)


class TemplateContextError(RuntimeFailure):
    """The context offered to a template holds something other than plain data; `path` names where."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        super().__init__(f"template context at '{path}': {problem}")


class TemplateRenderError(RuntimeFailure):
    """A template could not be rendered. The message names file, line and name, never a context value."""

    def __init__(self, template: str, line: int | None, detail: str) -> None:
        self.template = template
        self.line = line
        self.detail = detail
        where = template if line is None else f"{template}, line {line}"
        super().__init__(f"template {where}: {detail}")


class TemplateUndefinedError(TemplateRenderError):
    """A template used a variable, key or attribute the context does not have (StrictUndefined)."""


class TemplateSecurityError(TemplateRenderError):
    """The sandbox refused something a template tried to reach (`__class__`, an unsafe call, a mutation)."""


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A rendered message: `subject` is one line (None for a letter), `body` is the text without outer blanks."""

    subject: str | None
    body: str


class _Refused(UndefinedError):
    """Jinja's own message may quote a context value (`pins[pin]`); this one carries the parts to rebuild it."""

    def __init__(self, message: str, name: object, owner: str | None, unsafe: bool) -> None:
        super().__init__(message)
        self.name = name
        self.owner = owner
        self.unsafe = unsafe


class _Undefined(StrictUndefined):
    """StrictUndefined whose error keeps the missing name apart from the message."""

    __slots__ = ()

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> NoReturn:
        owner = None if self._undefined_obj is missing else object_type_repr(self._undefined_obj)
        unsafe = issubclass(self._undefined_exception, SecurityError)  # the sandbox's refusal of an attribute
        raise _Refused(self._undefined_message, self._undefined_name, owner, unsafe)


# Undefined binds its dunders (__str__, __iter__, __add__, ...) to the base class's function object, so an
# override alone would not be reached from them: point every such alias at ours.
for _alias in dir(StrictUndefined):
    if getattr(StrictUndefined, _alias, None) is StrictUndefined._fail_with_undefined_error:
        setattr(_Undefined, _alias, _Undefined._fail_with_undefined_error)


class TemplateRenderer:
    """Renders `NAME.j2` templates of one folder, or of the texts a workflow version was published with. Compiled
    templates are kept, so a render is cheap enough to run inside the engine's transaction; build one renderer per
    folder (or version) and share it."""

    def __init__(self, folder: Path | None = None, *, texts: Mapping[str, str] | None = None) -> None:
        self.folder = folder
        self._where = str(folder) if folder is not None else "this workflow version's templates"
        loader: BaseLoader = FileSystemLoader(folder) if folder is not None else DictLoader(
            {name + SUFFIX: text for name, text in (texts or {}).items()})
        self._env = ImmutableSandboxedEnvironment(
            loader=loader,
            undefined=_Undefined,
            autoescape=True,
            auto_reload=False,  # a published definition's templates do not change under a running engine
        )
        self._compiled: dict[str, Template] = {}

    @property
    def environment(self) -> ImmutableSandboxedEnvironment:
        """The sandboxed environment, for checks that parse without rendering."""
        return self._env

    def render(self, name: str, context: Mapping[str, object]) -> RenderedMessage:
        """Render template `name` (file `NAME.j2`) with a context of plain data."""
        variables = plain_context(context)
        template = self.template(name)
        subject = self._block(template, "subject", variables) if "subject" in template.blocks else None
        return RenderedMessage(
            subject=None if subject is None else " ".join(subject.split()),
            body=self._block(template, "body", variables).strip(),
        )

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
            return "".join(template.blocks[block](template.new_context(variables)))
        except Exception as error:  # every failure becomes one error type, with values withheld
            # `from None`: the original exception's text may quote a context value, so it is not chained.
            raise self._explain(error, template.name or "?") from None

    def _explain(self, error: Exception, fallback: str) -> TemplateRenderError:
        where, line = _where_in_template(error.__traceback__)
        template = where or fallback
        if isinstance(error, _Refused) and error.name is not None:
            name = self._shown(error.name, template)
            if error.unsafe:
                return TemplateSecurityError(template, line, f"refused by the sandbox: access to {name}")
            if error.owner is None:
                return TemplateUndefinedError(template, line, f"undefined variable {name}")
            return TemplateUndefinedError(template, line, f"no key or attribute {name} on a {error.owner}")
        if isinstance(error, SecurityError) or (isinstance(error, _Refused) and error.unsafe):
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
        return "<withheld: a name taken from the context>"


def plain_context(context: Mapping[str, object]) -> dict[str, object]:
    """Copy `context` as plain data (Mappings become dicts), or raise `TemplateContextError` naming the key path."""
    return dict(_plain_items(context, "", set()))


def _plain_items(mapping: Mapping[Any, object], path: str, open_: set[int]) -> Iterator[tuple[str, object]]:
    for key, value in mapping.items():
        if type(key) is not str:
            raise TemplateContextError(f"{path}[{key!r}]" if path else repr(key), "a key must be a str")
        inner = f"{path}.{key}" if path else key
        if path and hasattr(dict, key):
            # `x.items` in a template would find the dict method, not this value: refuse rather than surprise.
            raise TemplateContextError(inner, "this key is hidden by the dict method of the same name")
        yield key, _plain(value, inner, open_)


def _plain(value: object, path: str, open_: set[int]) -> object:
    if type(value) in _SCALARS:  # exact types: a str subclass such as Markup would bypass escaping
        return value
    if isinstance(value, Mapping):
        with _entered(value, path, open_):
            return dict(_plain_items(value, path, open_))
    if type(value) in (list, tuple) and isinstance(value, list | tuple):  # not a namedtuple: its fields would vanish
        with _entered(value, path, open_):
            items = [_plain(item, f"{path}[{index}]", open_) for index, item in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    raise TemplateContextError(path, f"a {type(value).__name__} is not plain data (str, int, float, bool, None, "
                                     "date, datetime, or a list, tuple or mapping of those)")


@contextmanager
def _entered(container: object, path: str, open_: set[int]) -> Iterator[None]:
    """Track the containers being copied, so one that contains itself is refused instead of recursing forever."""
    if id(container) in open_:
        raise TemplateContextError(path, "the value contains itself")
    open_.add(id(container))
    try:
        yield
    finally:
        open_.discard(id(container))


def _where_in_template(tb: TracebackType | None) -> tuple[str | None, int | None]:
    """The innermost template frame of a traceback, as (template name, source line)."""
    found: tuple[str | None, int | None] = (None, None)
    while tb is not None:
        template = tb.tb_frame.f_globals.get("__jinja_template__")
        if isinstance(template, Template):
            found = (template.name, template.get_corresponding_lineno(tb.tb_lineno))
        tb = tb.tb_next
    return found


def _names_written_in(env: ImmutableSandboxedEnvironment, template: str) -> frozenset[object]:
    """Every variable, attribute and constant spelt out in a template's source (only read when reporting)."""
    if env.loader is None:
        return frozenset()
    try:
        source, _, _ = env.loader.get_source(env, template)
        tree = env.parse(source)
    except Exception:  # without the source nothing can be shown safely
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

    def render(self, definition: WorkflowDefinition, name: str, context: Mapping[str, object]) -> RenderedMessage:
        renderer = self._by_version.get(definition.content_hash)
        if renderer is None:  # two threads may both build one: the same templates, so either will do
            renderer = TemplateRenderer(texts=dict(definition.templates))
            self._by_version[definition.content_hash] = renderer
        return renderer.render(name, context)
