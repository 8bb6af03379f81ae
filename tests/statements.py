"""Count the statements an engine sends, with SQLAlchemy's `before_cursor_execute` event: for tests that bound how
many queries a read makes (a page in a fixed number of them, never a round per row) and for the query-plan test,
which explains each one."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy import Engine, event


class Statements:
    """Every statement sent on `db` (and on the engines derived from it, as `reading(db)` is) while listening:
    from construction until `stop()`, or within a `with` block."""

    def __init__(self, db: Engine) -> None:
        self.db = db
        self.sent: list[tuple[str, Any]] = []
        event.listen(db, "before_cursor_execute", self._before)

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        self.sent.append((statement, parameters))

    @property
    def selects(self) -> list[tuple[str, Any]]:
        return [(s, p) for s, p in self.sent if s.lstrip().upper().startswith("SELECT")]

    def clear(self) -> None:
        self.sent.clear()

    def stop(self) -> None:
        event.remove(self.db, "before_cursor_execute", self._before)

    def __enter__(self) -> Statements:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
