"""Makes the audit tables append-only inside PostgreSQL, so the application cannot UPDATE, DELETE or TRUNCATE them.

A trigger function that always raises is attached BEFORE UPDATE OR DELETE (per row) and BEFORE TRUNCATE (per
statement) to `audit_events` and `audit_anchors`. Triggers rather than REVOKE because they hold whatever role the
application connects as, and they need no separate role set-up. The DDL is idempotent (CREATE OR REPLACE, DROP
TRIGGER IF EXISTS) and exposed as strings so a migration can run the same statements.

The guarantee is only as strong as the roles: the tables' owner can still disable or drop the triggers, so in
production a migration role should own the tables and the application role should not.

On SQLite there are no such triggers worth having (whoever can write the file can drop them): the file is the
trust boundary, and `engine.audit.verify.verify` is the control that detects an altered history.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import Connection, text

AUDIT_TABLES: Final = ("audit_events", "audit_anchors")
FUNCTION_NAME: Final = "portalflow_audit_append_only"

FUNCTION_DDL: Final = f"""
CREATE OR REPLACE FUNCTION {FUNCTION_NAME}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit table % is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING HINT = 'audit rows are never changed or removed; record a new event instead';
END;
$$
"""


def _trigger_ddl(table: str) -> tuple[str, ...]:
    return (
        f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}",
        f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION_NAME}()",
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION_NAME}()",
    )


PROTECT_DDL: Final = (FUNCTION_DDL, *(ddl for table in AUDIT_TABLES for ddl in _trigger_ddl(table)))
"""Statements, in order, that make the audit tables append-only (a migration's upgrade)."""

UNPROTECT_DDL: Final = (
    *(f"DROP TRIGGER IF EXISTS {table}_{kind} ON {table}"
      for table in AUDIT_TABLES for kind in ("no_update_delete", "no_truncate")),
    f"DROP FUNCTION IF EXISTS {FUNCTION_NAME}()",
)
"""Statements that undo `PROTECT_DDL` (a migration's downgrade)."""


def protect_audit_tables(conn: Connection) -> None:
    """Install the append-only triggers on PostgreSQL, in the caller's transaction; nothing on other databases."""
    if conn.dialect.name != "postgresql":
        return
    for statement in PROTECT_DDL:
        conn.execute(text(statement))
