"""Field types shared by the request bodies: ids that fit their audit chain, dates written as dates, and the
engine's rules on text (non-blank names, email addresses, postal codes, phone numbers, https addresses), stated as
JSON Schema patterns so that the OpenAPI document tells integrators what the engine will refuse.

Each pattern accepts only what the engine accepts, whoever reads it: Pydantic (Rust's regex), schemathesis
(Python's `re`, ASCII classes) and an integrator's validator (ECMA-262). So none uses `\\s`, `\\d` or `\\w`, whose
meaning differs between them: whitespace is spelled out as the characters Python's `str.strip()` removes (the
engine strips before it checks), digits as `[0-9]`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

# Every character `str.isspace()` calls whitespace: what `str.strip()` removes before the engine's checks.
SPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
_WS = f"[{SPACE}]*"
NOT_BLANK = f"[^{SPACE}]"  # unanchored: somewhere a character that is not whitespace
EMAIL = f"^{_WS}[^@{SPACE}]+@[^@{SPACE}]+\\.[^@{SPACE}]+{_WS}$"
ZIP = f"^{_WS}[A-Za-z0-9][A-Za-z0-9 -]*{_WS}$"
CELL_PHONE = f"^{_WS}\\+?[0-9().-][0-9 ().-]{{5,}}[0-9().-]{_WS}$"
# A site's From: an address, or "Name <address>" (no surrounding spaces: the engine does not strip it); empty: none.
FROM_ADDRESS = (f"^$|^[^@{SPACE}]+@[^@{SPACE}]+\\.[^@{SPACE}]+$"
                f"|^[^<>]*<[^@<>{SPACE}]+@[^@<>{SPACE}]+\\.[^@<>{SPACE}]+>$")
# https, then an ASCII host (Python's URL parser refuses some brackets and non-ASCII hosts), then anything unspaced.
HTTPS_URL = f"^https://[A-Za-z0-9._~%!$&'()*+,;=:@-]+([/?#][^{SPACE}]*)?$"
ISO_DATE = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DATE = re.compile(ISO_DATE)


def _date_text(value: Any) -> Any:
    # Pydantic would read a number, or text of digits, as seconds since 1970 (birth_date: 0 -> 1970-01-01), and a
    # midnight time as its date: a date must be written YYYY-MM-DD.
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


def says(problem: str) -> WrapValidator:
    """Pydantic's "String should match pattern '<pattern>'" in words a person reads (the document has the pattern).
    A type using it carries every constraint itself: a constraint added where the field is declared would be
    checked outside this wrapper, or not at all."""
    def wrap(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as error:
            if any(e["type"] == "string_pattern_mismatch" for e in error.errors()):
                raise PydanticCustomError("string_pattern_mismatch", problem) from None
            raise

    return WrapValidator(wrap)


IsoDate = Annotated[date, BeforeValidator(_date_text), Field(json_schema_extra={"pattern": ISO_DATE})]
Name = Annotated[str, Field(max_length=200, pattern=NOT_BLANK), says("must not be blank")]
HttpsUrl = Annotated[str, Field(max_length=500, pattern=HTTPS_URL),
                     says("must be an https:// address with its host (links are built from it)")]
FromAddress = Annotated[str, Field(max_length=320, pattern=FROM_ADDRESS),
                        says("must be an email address, or 'Name <address>'")]


def ident(chain_prefix: str, **extra: Any) -> Any:
    """An id field whose audit chain key (`<prefix>:<id>`, 64 characters at most) fits."""
    return Field(min_length=1, max_length=64 - len(chain_prefix) - 1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                 **extra)


def _without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def absent_or(**constraints: Any) -> Any:
    """A field a change may leave out, but not set to null (a site's name: it is required once the site exists).
    The document shows no default, since the null that stands for "left out" is not a value one may send."""
    return Field(default=None, json_schema_extra=_without_default, **constraints)


def when_true_requires(flag: str, needed: str) -> dict[str, Any]:
    """JSON Schema: when `flag` is sent as true, `needed` must be sent too, and not null."""
    return {"if": {"properties": {flag: {"const": True}}, "required": [flag]},
            "then": {"properties": {needed: {"type": "string"}}, "required": [needed]}}


def only_with(field: str, needed: str) -> dict[str, Any]:
    """JSON Schema: `field`, when sent and not null, needs `needed`, not null."""
    return {"if": {"properties": {field: {"type": "string"}}, "required": [field]},
            "then": {"properties": {needed: {"type": "string"}}, "required": [needed]}}


def needs_earlier(needed: str, why: str) -> Callable[[Any, ValidationInfo], Any]:
    """A validator for a true flag that needs an earlier field (`needed`) given; skipped when that field was itself
    refused (its own error says why)."""
    def check(value: Any, info: ValidationInfo) -> Any:
        if value and needed in info.data and info.data[needed] is None:
            raise ValueError(why)
        return value

    return check
