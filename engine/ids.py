"""Identifiers the engine makes for the rows it creates: enrollments, credentials, portal accounts."""

from __future__ import annotations

import uuid


def new_id() -> str:
    """A random 128-bit id as 32 hex digits: unguessable, and unique without asking the database."""
    return uuid.uuid4().hex
