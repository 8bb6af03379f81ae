"""Query parameters read strictly: pydantic's lax mode takes `birth_date=0` as 1970-01-01 and `0` as false, which
turns a typo into a wrong answer instead of a clear error. Dates are YYYY-MM-DD, times ISO 8601 with a date and a
UTC offset, booleans `true` or `false`; anything else is a 422 naming the parameter."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})")


def _text_like(pattern: re.Pattern[str], what: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, str) and not pattern.fullmatch(value):
            raise ValueError(f"expected {what}")
        return value

    return check


def _boolean(value: Any) -> Any:
    if isinstance(value, str) and value not in ("true", "false"):
        raise ValueError("expected true or false")
    return value


QueryDate = Annotated[date, BeforeValidator(_text_like(_DATE, "a date written YYYY-MM-DD")),
                      Field(json_schema_extra={"pattern": _DATE.pattern})]
QueryDateTime = Annotated[datetime, BeforeValidator(_text_like(
    _DATETIME, "a time written YYYY-MM-DDTHH:MM with a UTC offset, e.g. 2026-03-02T09:00-05:00"))]
QueryBool = Annotated[bool, BeforeValidator(_boolean), Field(json_schema_extra={"enum": [True, False]})]
