"""One plain ASGI middleware per request: its id, its access line and its metrics.

- The request id: a sane incoming `X-Request-ID` (letters, digits, `.`, `_`, `:`, `-`, at most 64) is kept, so a
  proxy's id follows the request; anything else is replaced by a new one. It is set for every log line written
  while the request runs (`api.observability.logs.request_id`) and sent back in `X-Request-ID`.
- The access line names the route template (`/patients/{patient_id}`), never the path as sent and never the query
  string: both can carry patient data (`?family_name=garc`, an MRN in the path). A path no route matched is
  logged as `(no route)` for the same reason.
- Written by hand rather than with asgi-correlation-id: that library is one more wrapper per request for the id
  alone, and the access line and the metrics need the same start, end and route anyway.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import REQUEST_ID_KEY
from api.observability.logs import request_id
from api.observability.metrics import ServiceMetrics

_SANE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
NO_ROUTE = "(no route)"
log = logging.getLogger("portalflow.access")


def incoming_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if _SANE.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


def route_of(scope: Scope) -> str:
    template = getattr(scope.get("route"), "path_format", None)
    return template if isinstance(template, str) else NO_ROUTE


class RequestObservation:
    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = incoming_id(scope)
        scope[REQUEST_ID_KEY] = rid  # for the 500 handler, which answers outside this middleware
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500  # when the app raises before answering, the error middleware outside answers 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            # Left set: the error middleware outside logs the incident in this same task, and it should carry
            # the id too (each request is a task of its own, so nothing else sees it).
            self._finish(scope, status, started)
            raise
        self._finish(scope, status, started)
        request_id.reset(token)

    def _finish(self, scope: Scope, status: int, started: float) -> None:
        seconds = time.perf_counter() - started
        route, method = route_of(scope), scope["method"]
        self.metrics.observe(method, route, status, seconds)
        log.info("%s %s %d", method, route, status, extra={
            "method": method, "path": route, "status": status, "duration_ms": round(seconds * 1000, 2)})
