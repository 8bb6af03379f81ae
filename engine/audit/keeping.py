"""What keeps the history checkable from outside the database: a key it does not hold, and a file it cannot edit.

Hashes alone prove nothing to someone who can write the database: they can edit a row, re-hash the rest of its
chain, and re-make every anchor. So each anchor is also sealed, an HMAC-SHA256 of its hash under a key kept in a
file beside the outbox key (`var/audit-anchor.key`), and written, once committed, as one JSON line appended to an
anchor log outside the database (`portalflow.db-anchors.jsonl` beside a SQLite file, fsynced; ship it off the
machine as you would a syslog). `engine.audit.verify` checks every seal with the key, and every logged anchor
against the database: an anchor deleted, re-made or missing ("anchors went down") is named, and with it the
deletions it protected.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from engine.storage.key_files import key_from_file

ANCHOR_KEY_FILE = "audit-anchor.key"
ANCHOR_LOG_SUFFIX = "-anchors.jsonl"


def anchor_log_for(db: Engine, var: Path) -> Path:
    """Each history has its own log: beside a SQLite file (`portalflow.db-anchors.jsonl`), else in `var` named
    after the PostgreSQL server, database and schema."""
    url = db.url
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            return Path(url.database).with_name(Path(url.database).name + ANCHOR_LOG_SUFFIX)
        return var / f"memory{ANCHOR_LOG_SUFFIX}"
    with db.connect() as conn:
        database, schema = conn.execute(text("SELECT current_database(), current_schema()")).one()
    return var / f"{url.host or 'local'}-{database}-{schema}{ANCHOR_LOG_SUFFIX}"


@dataclass(frozen=True, slots=True)
class AnchorRecord:
    id: int
    at: str
    upto_event_id: int
    chains: int
    heads_digest: str
    hash: str
    seal: str | None


class AnchorKeeper:
    """Seals anchors with its key and appends them to its log (when it has one)."""

    def __init__(self, key: Callable[[], bytes], log: Path | None) -> None:
        self._key_source, self._key = key, b""
        self.log = log

    @classmethod
    def with_key_file(cls, key_file: Path, log: Path | None) -> AnchorKeeper:
        return cls(lambda: key_from_file(key_file, lambda: secrets.token_hex(32).encode("ascii")), log)

    @classmethod
    def derived(cls, secret: bytes, log: Path | None = None) -> AnchorKeeper:
        """A key derived from another secret (tests and simulations, which keep no key files)."""
        return cls(lambda: hashlib.sha256(b"portalflow audit anchor\n" + secret).hexdigest().encode("ascii"), log)

    def seal(self, anchor_hash: str) -> str:
        if not self._key:
            self._key = self._key_source()
        return hmac.new(self._key, anchor_hash.encode("ascii"), hashlib.sha256).hexdigest()

    def sealed(self, anchor_hash: str, seal: str) -> bool:
        return hmac.compare_digest(self.seal(anchor_hash), seal)

    def record(self, anchor: AnchorRecord) -> None:
        if self.log is None:
            return
        self.log.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(asdict(anchor), sort_keys=True) + "\n"
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def recorded(self) -> list[dict[str, Any]] | str:
        """The logged anchors in order, or a sentence saying why the log cannot be read."""
        if self.log is None or not self.log.exists():
            return []
        entries: list[dict[str, Any]] = []
        for number, line in enumerate(self.log.read_text(encoding="ascii", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                return f"line {number} of the anchor log {self.log} is not an anchor: the log was altered"
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), int):
                return f"line {number} of the anchor log {self.log} is not an anchor: the log was altered"
            entries.append(entry)
        return entries
