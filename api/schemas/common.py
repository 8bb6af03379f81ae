"""Field types shared by the request bodies: ids that fit their audit chain, and dates written as dates."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field


def _date_text(value: Any) -> Any:
    # Pydantic would read a number as seconds since 1970 (birth_date: 0 -> 1970-01-01): a date must be written.
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_date_text)]


def ident(chain_prefix: str) -> Any:
    """An id field whose audit chain key (`<prefix>:<id>`, 64 characters at most) fits."""
    return Field(min_length=1, max_length=64 - len(chain_prefix) - 1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
