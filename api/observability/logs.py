"""JSON log lines for the service: one object per line with time (UTC, ISO 8601), level, logger, message and the
request id of the request that wrote it (null outside one).

`configure()` is called by the app factory, which every uvicorn worker runs after uvicorn set up its own logging:
it puts one JSON handler on PortalFlow's loggers and uvicorn's, and silences uvicorn's access log, which prints
the query string (`?family_name=garc`): `api.observability.requests` writes an access line of its own instead.
Root is left alone, so pytest and anything else that listens there still hear PortalFlow's records.
`UVICORN_LOG_CONFIG` is the same for uvicorn's supervisor process (`serve --workers N`), which never runs the app
factory: `portalflow serve` passes it as uvicorn's `log_config`.
"""

from __future__ import annotations

import logging
import sys
import traceback
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from engine.front_door.flow import PortalFlow

request_id: ContextVar[str | None] = ContextVar("portalflow_request_id", default=None)

_FIELDS = "{levelname}{name}{message}{request_id}"
_RENAMED = {"levelname": "level", "name": "logger"}
_LEFT_OUT = (*RESERVED_ATTRS, "color_message")  # uvicorn's copy of the message with terminal colour codes


class _RequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class _Stderr(logging.Handler):
    """Writes to whatever `sys.stderr` is at the moment (a handler holding the stream it was built with would
    write to a closed one once a test's capture ends)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # logging must never break a request
            self.handleError(record)


class _JsonLines(JsonFormatter):
    """An exception is logged as its frames and its type, never its message: a message can quote a value from the
    request (`invalid literal for int(): 'mrn-1003'`), and the frames are enough to find the fault."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 (logging's name)
        _, error, _ = ei
        parts: list[str] = []
        while error is not None and len(parts) < 10:  # a chain of causes, oldest first, never a cycle for ever
            frames = "".join(traceback.format_tb(error.__traceback__))
            parts.insert(0, f"Traceback (most recent call last):\n{frames}{type(error).__qualname__}: (left out)")
            error = error.__cause__ or error.__context__
        return "\n\nwhich led to\n\n".join(parts)


def json_handler() -> logging.Handler:
    handler = _Stderr()
    handler.setFormatter(_JsonLines(_FIELDS, style="{", rename_fields=_RENAMED, timestamp="time",
                                       reserved_attrs=_LEFT_OUT))
    handler.addFilter(_RequestId())
    return handler


UVICORN_LOG_CONFIG: dict[str, Any] = {  # logging.config.dictConfig's schema, as uvicorn's `log_config` takes
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"json": {"()": "api.observability.logs.json_handler"}},
    "loggers": {
        "uvicorn": {"handlers": ["json"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},  # it prints query strings
    },
}


def configure() -> None:
    """Idempotent: a second app in the same process (tests) finds the handler in place."""
    portalflow = logging.getLogger("portalflow")
    if not any(isinstance(h, _Stderr) for h in portalflow.handlers):
        portalflow.addHandler(json_handler())
    if portalflow.level == logging.NOTSET or portalflow.level > logging.INFO:
        portalflow.setLevel(logging.INFO)
    server = logging.getLogger("uvicorn")
    server.handlers = [json_handler()]
    server.propagate = False
    logging.getLogger("uvicorn.error").handlers = []  # it propagates to "uvicorn", whose handler now writes JSON
    logging.getLogger("uvicorn.access").disabled = True


def database_for_logs(flow: PortalFlow) -> str:
    """The database URL with any password replaced by ***."""
    return flow.db.url.render_as_string(hide_password=True)


def log_startup(flow: PortalFlow) -> None:
    """Which database, which workflows run and which files were left out (with why, as /health says)."""
    log = logging.getLogger("portalflow.startup")
    loaded = sorted(f"{d.id}@{d.version}" for d in flow.catalog.all())
    left_out = [{"file": x.path, "problems": list(x.problems)} for x in flow.catalog.left_out]
    log.info("database %s", database_for_logs(flow), extra={"database": database_for_logs(flow)})
    log.info("workflows: %d loaded, %d left out", len(loaded), len(left_out),
             extra={"workflows_loaded": loaded, "workflows_left_out": left_out})
