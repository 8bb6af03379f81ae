"""What every table of `engine.storage.tables` is built on: one MetaData and the column helpers they share.

The naming convention gives every index and constraint the same name on SQLite and PostgreSQL, so an Alembic
revision can name what it drops or changes.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


def utc_time(name: str, nullable: bool = False) -> Column[object]:
    """A moment, stored as aware UTC (SQLite keeps UTC text; readers make it aware again, `engine.clock.as_utc`)."""
    return Column(name, DateTime(timezone=True), nullable=nullable)
