"""The sites each staff user works at: the walls of "sites are walls".

Apart from `engine.storage.tables` (which imports it, so the metadata holds every table) to keep that module small.
A user with no row here works at every site (a single-practice install sets none); with rows, only at those.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table

from engine.storage.schema import metadata

staff_user_sites = Table(
    "staff_user_sites", metadata,
    Column("user_id", String(64), ForeignKey("staff_users.id"), primary_key=True),
    Column("site_id", String(64), ForeignKey("sites.id"), primary_key=True),
)
