"""The portal's refusals counted per day and door: every refused PIN or link costs this one short write, whether
or not the credential was known, so the time of an answer does not tell a known credential from an unknown one;
and the counts show staff and operators when someone is guessing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from engine.storage.attempt_tables import portal_refusals
from engine.storage.upsert import upsert


def count_refusal(conn: Connection, door: str, now: datetime) -> None:
    upsert(conn, portal_refusals, {"day": now.date(), "door": door, "refusals": 1}, ["day", "door"],
           {"refusals": portal_refusals.c.refusals + 1})
