"""PINs: 8 symbols from a 32-symbol alphabet without look-alikes (40 bits), drawn with `secrets`, shown once and
stored only as an Argon2id hash (`engine.credentials.hashing`). 100 consecutive failures lock a PIN."""

from __future__ import annotations

import secrets

PIN_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
PIN_LENGTH = 8
PIN_BITS = PIN_LENGTH * 5
MAX_PIN_FAILURES = 100


def new_pin() -> str:
    return "".join(secrets.choice(PIN_ALPHABET) for _ in range(PIN_LENGTH))


def normalise_pin(text: str) -> str:
    """People type PINs with spaces, dashes and lower case; O/I/0/1 never occur, so map them to nothing."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def format_pin(pin: str) -> str:
    """Shown as two groups of four, easier to read aloud and to type."""
    return f"{pin[:4]}-{pin[4:]}"
