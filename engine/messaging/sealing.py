"""Seal the secrets a queued message must carry (a PIN, a link) so no table ever holds them in clear.

A message that carries a secret is rendered with a marker in its place; the secret itself is stored beside it
encrypted (Fernet: AES-128-CBC with HMAC-SHA256) under a key from configuration, opened only by the delivery
worker at send time, and wiped once the message has gone.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from cryptography.fernet import Fernet, InvalidToken

from definitions.errors import RuntimeFailure
from engine.storage.key_files import key_from_file


class Sealer(Protocol):
    def seal(self, secrets: dict[str, str]) -> str: ...

    def open(self, sealed: str) -> dict[str, str]: ...


class SealBroken(RuntimeFailure):
    """The sealed secrets could not be opened: wrong key or altered data."""


class FernetSealer:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, secrets: dict[str, str]) -> str:
        return self._fernet.encrypt(json.dumps(secrets, sort_keys=True).encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> dict[str, str]:
        try:
            data = json.loads(self._fernet.decrypt(sealed.encode("ascii")))
        except InvalidToken:
            raise SealBroken("sealed message secrets could not be opened (wrong key or altered row)") from None
        return {str(k): str(v) for k, v in data.items()}


class KeyFileSealer:
    """A `FernetSealer` whose key is read from (or, the first time, made in) a file when first needed: commands
    that never seal or open a message (users, imports, audit) leave no key behind."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._sealer: FernetSealer | None = None

    def _ready(self) -> FernetSealer:
        if self._sealer is None:
            self._sealer = FernetSealer(key_from_file(self._path, Fernet.generate_key))
        return self._sealer

    def seal(self, secrets: dict[str, str]) -> str:
        return self._ready().seal(secrets)

    def open(self, sealed: str) -> dict[str, str]:
        return self._ready().open(sealed)


def marker(name: str) -> str:
    """Stands in the stored body for a secret; HTML escaping leaves these characters alone."""
    return f"[[sealed:{name}]]"


def filled(text: str, secrets: Mapping[str, str], *, escape: bool = False) -> str:
    """Put each secret where its marker stands; in HTML, escaped as the template escaped every other value."""
    for name, value in secrets.items():
        text = text.replace(marker(name), html.escape(value) if escape else value)
    return text
