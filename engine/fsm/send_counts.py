"""How many messages a limit counts (`max: 4 within: 30d`): one prebuilt statement per shape of the question.

Every enrollment read judges its next triggers, and an invite's guard counts the invites already sent: built through
SQLAlchemy's expression language on each call (two IN lists expanded at execution), the count cost an enrollment
read more than all its other statements together (bench/reads_profile.py). The statement depends only on how many
message ids the limit counts, whether it counts per recipient, and how many people the enrollment is for: it is
made once per such shape (engine.storage.direct) and run with the values as parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from engine.storage.direct import DirectStatement
from engine.storage.tables import enrollments, outbox

OPEN_STATUSES = ("queued", "sending", "sent", "review")  # what a limit counts: on its way, out, or to be checked


@lru_cache(maxsize=64)
def _statement(messages: int, per_recipient: bool, recipient_known: bool, people: int) -> DirectStatement:
    query = select(func.count()).select_from(outbox).where(
        outbox.c.message_id.in_([bindparam(f"b_m{i}") for i in range(messages)]),
        outbox.c.status.in_([bindparam(f"b_s{i}") for i in range(len(OPEN_STATUSES))]),
        outbox.c.created_at > bindparam("b_since"))
    if per_recipient:  # a message with no address yet is counted with the others that have none, as before
        mine = outbox.c.recipient == bindparam("b_recipient") if recipient_known else outbox.c.recipient.is_(None)
        return DirectStatement(query.where(mine))
    ours = enrollments.c.id == bindparam("b_enrollment")
    if people:
        ours = enrollments.c.patient_id.in_([bindparam(f"b_p{i}") for i in range(people)]) | ours
    return DirectStatement(query.join(enrollments, enrollments.c.id == outbox.c.enrollment_id).where(ours))


def sends_counted(conn: Connection, message_ids: Sequence[str], since: datetime, *, recipient: str | None = None,
                  per_recipient: bool, people: Sequence[str] = (), enrollment_id: str = "") -> int:
    """Messages among `message_ids` created after `since` and in OPEN_STATUSES (not failed, held, printed or
    suppressed): those sent to `recipient` (per recipient), or those of the enrollments of `people` and of
    `enrollment_id` (per patient)."""
    if not message_ids:  # an empty IN list would compile to SQL of its own each time; nothing can match it
        return 0
    params: dict[str, Any] = {f"b_m{i}": m for i, m in enumerate(message_ids)}
    params.update({f"b_s{i}": s for i, s in enumerate(OPEN_STATUSES)})
    params["b_since"] = since
    if per_recipient:
        params["b_recipient"] = recipient
        statement = _statement(len(message_ids), True, recipient is not None, 0)
    else:
        params.update({f"b_p{i}": p for i, p in enumerate(people)})
        params["b_enrollment"] = enrollment_id
        statement = _statement(len(message_ids), False, False, len(people))
    row = statement.first(conn, params)
    return int(row[0]) if row is not None else 0
