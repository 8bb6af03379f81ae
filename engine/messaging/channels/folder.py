"""The embedded default channel: each message becomes an `.eml` file in a folder, so a newcomer sees what would
be sent without running a mail server.

Letters and secure messages go through this adapter too (channel "letter" / "secure_message"), because the
vendor systems behind them are not wired in here; a real vendor adapter implements the same `ChannelAdapter`
Protocol and raises the same three failures. The files carry PINs and links, hence owner-only permissions.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import suppress
from pathlib import Path

from engine.clock import Clock, SystemClock
from engine.messaging.channels.base import (
    CHANNELS,
    OutgoingMessage,
    PermanentFailure,
    TemporaryFailure,
    as_bytes,
    build_email,
)

FOLDER_MODE = 0o700
# mkstemp already creates files readable and writable by their owner only (0o600), which is what we want.


class FolderChannel:
    """A `ChannelAdapter` writing `<folder>/<channel>/<message_ref>.eml`, once per reference."""

    def __init__(self, folder: Path, channel: str, *, clock: Clock | None = None) -> None:
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}; expected one of {sorted(CHANNELS)}")
        self._root = folder.absolute()
        self._channel = channel
        self._clock = clock or SystemClock()

    @property
    def folder(self) -> Path:
        return self._root / self._channel

    def send(self, message: OutgoingMessage) -> str:
        if message.channel != self._channel:
            raise PermanentFailure(f"the {self._channel} folder channel was given a {message.channel!r} message")
        email = build_email(message, self._clock)  # also refuses a reference that is unsafe as a file name
        target = self.folder / f"{message.message_ref}.eml"
        try:
            self._make_folder()
            # A worker that re-sends after a crash must not leave a second copy: the first one stands.
            if not target.exists():
                _write_atomically(target, as_bytes(email, message))
        except OSError as exc:
            raise TemporaryFailure(f"could not write message {message.message_ref} into {self.folder}: "
                                   f"{exc.strerror or type(exc).__name__}") from exc
        return str(target)

    def _make_folder(self) -> None:
        self._root.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        self.folder.mkdir(mode=FOLDER_MODE, exist_ok=True)


def _write_atomically(target: Path, data: bytes) -> None:
    """Readers see either no file or the whole file, never half of one, even after a power cut."""
    fd, temporary = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(target.parent)


def _sync_folder(folder: Path) -> None:
    # The rename lives in the folder's own entry list; syncing it makes the new name survive a crash.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
