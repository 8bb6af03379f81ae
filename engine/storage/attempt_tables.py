"""Counts of failed attempts: the portal's refusals per day, and staff sign-in failures per network address.

Apart from `engine.storage.tables` (which imports them, so the metadata holds every table) because they belong to
no enrollment, patient or user: they exist so that every failure costs one short write like every other (a caller
cannot tell failures apart by time) and so that one address guessing many users' passwords is stopped.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, Integer, String, Table

from engine.storage.schema import metadata, utc_time

portal_refusals = Table(
    "portal_refusals", metadata,
    Column("day", Date, primary_key=True),  # UTC
    Column("door", String(8), primary_key=True),  # "pin" or "link"
    Column("refusals", Integer, nullable=False),
)

sign_in_addresses = Table(
    "sign_in_addresses", metadata,
    Column("address", String(64), primary_key=True),  # as the service saw it (behind a proxy: --proxy-headers)
    utc_time("window_started"),
    Column("failures", Integer, nullable=False),  # since window_started
    utc_time("paused_until", nullable=True),
)
