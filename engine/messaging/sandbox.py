"""The Jinja2 sandbox designers' templates run in: immutable (a template cannot change what it is given), strict
about names (a missing one is an error whose message never quotes a context value), refusing any value that prints
as nothing, and bounded (no template builds more than `MAX_TEXT` characters: `'x' * 1000000000` is refused before
it runs). `engine.messaging.rendering` turns each refusal into a `TemplateRenderError`."""

from __future__ import annotations

from typing import Any, NoReturn

from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing, object_type_repr


class EmptyValue(Exception):
    """Raised by `refuse_empty` while a template prints; carries no value (there is none to carry)."""


def refuse_empty(value: object) -> object:
    """Jinja's `finalize`: every `{{ ... }}` passes here before it is written."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise EmptyValue()
    return value


class NameRefused(UndefinedError):
    """Jinja's own message may quote a context value (`pins[pin]`); this one carries the parts to rebuild it."""

    def __init__(self, message: str, name: object, owner: str | None, unsafe: bool) -> None:
        super().__init__(message)
        self.name = name
        self.owner = owner
        self.unsafe = unsafe


class StrictNames(StrictUndefined):
    """StrictUndefined whose error keeps the missing name apart from the message."""

    __slots__ = ()

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> NoReturn:
        owner = None if self._undefined_obj is missing else object_type_repr(self._undefined_obj)
        unsafe = issubclass(self._undefined_exception, SecurityError)  # the sandbox's refusal of an attribute
        raise NameRefused(self._undefined_message, self._undefined_name, owner, unsafe)


# Undefined binds its dunders (__str__, __iter__, __add__, ...) to the base class's function object, so an
# override alone would not be reached from them: point every such alias at ours.
for _alias in dir(StrictUndefined):
    if getattr(StrictUndefined, _alias, None) is StrictUndefined._fail_with_undefined_error:
        setattr(StrictNames, _alias, StrictNames._fail_with_undefined_error)


MAX_TEXT = 100_000  # characters: the most a rendered block, or a string or list a template builds, may hold


class TooLarge(Exception):
    """A template built (or was about to build) more text than a message may hold."""


class Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with `*` and `**` checked before they run: `{{ 'x' * 1000000000 }}` would otherwise
    build a gigabyte on every render (constant folding is off for intercepted operators)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_TEXT:
                    raise TooLarge()
        if operator == "**" and isinstance(right, int) and right > 64:
            raise TooLarge()
        return super().call_binop(context, operator, left, right)
