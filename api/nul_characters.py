"""Refuse a NUL character in any text a caller sends (the path, a query value, a JSON or form body) with 422 naming
where: PostgreSQL's text cannot hold one, so it used to reach the database and answer 500; SQLite would store it.

One app-wide dependency rather than a rule on every string field: every route and page gets it, including ones
added later. A JSON body (read once and kept by the framework) is only parsed here when its bytes hold an
unescaped `\\u0000` (an escaped backslash before `u0000` is ordinary text); a page's form is the one the route
parsed; multipart uploads are left to the importer, which reads them as CSV or FHIR itself.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)
MESSAGE = "text may not contain the NUL character (U+0000)"


async def refuse_nul_characters(request: Request) -> None:
    scope = request.scope  # the path as the server decoded it (request.url would rebuild and re-split the URL)
    if "\x00" in scope.get("root_path", "") or "\x00" in scope.get("path", ""):
        _refuse(("path",))
    if scope.get("query_string"):
        for name, value in request.query_params.multi_items():
            if "\x00" in name or "\x00" in value:
                _refuse(("query", name.replace("\x00", "")))
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind.endswith("json"):
        body = await request.body()
        if _ESCAPED_NUL.search(body):
            _refuse(("body", *_where_in(json.loads(body))))
    elif kind == "application/x-www-form-urlencoded":  # a page's form: already parsed for the route, and kept
        for field, given in (await request.form()).multi_items():
            if isinstance(given, str) and ("\x00" in field or "\x00" in given):
                _refuse(("body", field.replace("\x00", "")))


def _where_in(value: Any) -> tuple[str | int, ...]:
    """The path to the first string (or key) holding a NUL; () when none does."""
    if isinstance(value, str):
        return () if "\x00" not in value else ("",)
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        if isinstance(key, str) and "\x00" in key:
            return (key.replace("\x00", ""),)
        found = _where_in(inner)
        if found:
            return (key, *(part for part in found if part != ""))
    return ()


def _refuse(where: tuple[str | int, ...]) -> None:
    raise RequestValidationError([{"loc": where, "msg": MESSAGE, "type": "value_error"}])
