"""Staff sign-in failures counted per network address, with a pause for an address that fails too often.

Per-user pauses (`identity.record_sign_in`) stop guessing one user's password; they do not stop one address trying
a few passwords on every user, and they let anyone keep a user locked out. An address with `ADDRESS_FAILURES`
failures within `ADDRESS_WINDOW` is refused everything, a right password included, for `ADDRESS_PAUSE`, and the
pause is audited. Every sign-in failure writes here, so each costs the same one short write whatever its cause.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, case, select

from engine.actors import SYSTEM_ACTOR
from engine.audit.entry import about_subject
from engine.audit.trail import append_to_subject
from engine.clock import as_utc
from engine.storage.attempt_tables import sign_in_addresses
from engine.storage.upsert import upsert

ADDRESS_FAILURES = 20
ADDRESS_WINDOW = timedelta(minutes=15)
ADDRESS_PAUSE = timedelta(minutes=15)
NO_ADDRESS = "(none)"  # a caller the service could not place (a command, a test client)


def address_paused(conn: Connection, address: str | None, now: datetime) -> bool:
    until = conn.execute(select(sign_in_addresses.c.paused_until).where(
        sign_in_addresses.c.address == _key(address))).scalar()
    return until is not None and as_utc(until) > now


def record_address_failure(conn: Connection, address: str | None, now: datetime) -> None:
    """One failure from `address` (a new window when the last began `ADDRESS_WINDOW` ago); the one that reaches
    `ADDRESS_FAILURES` pauses the address, audited."""
    table = sign_in_addresses.c
    fresh = table.window_started <= now - ADDRESS_WINDOW
    counted = upsert(
        conn, sign_in_addresses, {"address": _key(address), "window_started": now, "failures": 1},
        ["address"], {"window_started": case((fresh, now), else_=table.window_started),
                      "failures": case((fresh, 1), else_=table.failures + 1)},
        returning=["failures", "paused_until"]).one()
    failures, paused_until = counted.failures, counted.paused_until
    if failures == ADDRESS_FAILURES and (paused_until is None or as_utc(paused_until) <= now):
        until = now + ADDRESS_PAUSE
        conn.execute(sign_in_addresses.update().where(table.address == _key(address)).values(paused_until=until))
        append_to_subject(conn, about_subject(
            "address", _key(address), now, SYSTEM_ACTOR, "sign_in_paused", "refused",
            detail=f"{failures} failed sign-ins from this address within {ADDRESS_WINDOW.seconds // 60} minutes; "
                   f"every sign-in from it is refused until {until:%Y-%m-%d %H:%M} UTC"))


def _key(address: str | None) -> str:
    return (address or NO_ADDRESS)[:64]
