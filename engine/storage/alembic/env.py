"""Alembic environment: runs on the connection `engine.storage.migrations.upgrade` hands it."""

from __future__ import annotations

from alembic import context

from engine.storage.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
context.run_migrations()
