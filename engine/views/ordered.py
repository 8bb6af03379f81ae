"""The first rows of several ordered queries, merged: one short index walk per branch instead of one big sort.

A database reads rows in an index's order only under one equality prefix. A worklist over `state IN (...)`, or
over several workflows and versions, would otherwise collect every matching row (every invite ever waiting, every
failed message) and sort them all to show the first 200. So each branch asks for its own first `limit` rows, in
the order of its index, and the branches are merged here: at most `limit` rows read per branch.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Row, Select


def first_rows(conn: Connection, branches: Sequence[Select[Any]], key: Callable[[Row[Any]], Any], limit: int, *,
               reverse: bool = False) -> list[Row[Any]]:
    """The first `limit` rows of the union of `branches`, each already ordered by `key` (descending: `reverse`)."""
    if limit <= 0:
        return []
    ordered = [conn.execute(branch.limit(limit)).all() for branch in branches]
    return list(islice(heapq.merge(*ordered, key=key, reverse=reverse), limit))
