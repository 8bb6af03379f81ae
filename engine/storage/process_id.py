"""This process's id, known without a system call: read at import and again in a child after each fork.

Why: the writers check the process id on every transaction (a forked child must not use its parent's SQLite
connection or lock file description), and `os.getpid` is a system call each time (glibc stopped caching it):
three of them per advance cost more than the writer queue's own work on a loaded machine.
"""

from __future__ import annotations

import os

_current = [os.getpid()]


def _forked() -> None:
    _current[0] = os.getpid()


os.register_at_fork(after_in_child=_forked)


def process_id() -> int:
    """`os.getpid()`, as it was read at import or in the fork that made this process."""
    return _current[0]
