"""The values a template may see: plain data only (DESIGN.md, "Security and privacy rules"), copied so that no
object a template could walk (an ORM row, a Markup string that would bypass escaping) reaches the sandbox."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from definitions.errors import RuntimeFailure

_SCALARS = (str, int, float, bool, type(None), date, datetime)


class TemplateContextError(RuntimeFailure):
    """The context offered to a template holds something other than plain data; `path` names where."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        super().__init__(f"template context at '{path}': {problem}")


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
