"""Tokens: 256 bits from `secrets` (access links, staff bearer tokens), stored only as SHA-256 — a fast hash is
enough for a 256-bit random value, and it lets a presented token find its row. Compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets

LINK_TOKEN_BYTES = 32


def new_link_token() -> str:
    return secrets.token_urlsafe(LINK_TOKEN_BYTES)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
