"""Keys kept outside the database, in files readable only by their owner: read, or made on first use.

Two processes starting together (`serve --workers 2`) may both find the file missing. The key is written whole to a
private temporary file and then hard-linked into place, which fails if the name exists: exactly one key wins, and
no process ever reads a half-written one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path


def key_from_file(path: Path, make: Callable[[], bytes]) -> bytes:
    """The key in `path`; when there is none yet, `make()`'s, written there with mode 0600."""
    if path.exists():
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(make())
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> bytes:
    key = path.read_bytes().strip()
    if not key:
        raise ValueError(f"the key file {path} is empty: restore it from the backup it was saved with")
    return key
