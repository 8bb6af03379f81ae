"""PostgreSQL roles for running PortalFlow with least privilege: an owner that migrates, an application that works.

The owner role owns the schema's tables (it runs `portalflow db upgrade`); the application role, which the service
connects as, reads and writes the working tables but may only read and append to the audit history
(`audit_events`, `audit_anchors`): no UPDATE, DELETE or TRUNCATE there. That is the second wall beside the
append-only triggers of `engine.storage.audit_protection`, and the one that makes the triggers hold, since only a
table's owner may disable them. Everything is idempotent: run it again after each upgrade to grant on new tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from engine.storage.audit_protection import AUDIT_TABLES

# What the application role may do where it may not do everything: append to the history, read the schema's version.
_READ_ONLY = {**dict.fromkeys(AUDIT_TABLES, "SELECT, INSERT"), "alembic_version": "SELECT"}


@dataclass(frozen=True, slots=True)
class RoleReport:
    created: tuple[str, ...]
    schema: str
    tables: int


def _quoted(conn: Connection, name: str) -> str:
    return str(conn.execute(text("SELECT quote_ident(:name)"), {"name": name}).scalar_one())


def _ensure_role(conn: Connection, name: str) -> bool:
    if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": name}).first():
        return False
    conn.execute(text(f"CREATE ROLE {_quoted(conn, name)} LOGIN"))
    return True


def set_up_roles(db: Engine, *, owner_role: str, app_role: str) -> RoleReport:
    """As a superuser (or a role with CREATEROLE owning the schema): make both roles if missing, give the owner
    the schema and its tables, and grant the application role what it may do on the tables there today."""
    if owner_role == app_role:
        raise ValueError("the owner role and the application role must differ: the owner can undo every wall")
    with db.begin() as conn:
        created = tuple(name for name in (owner_role, app_role) if _ensure_role(conn, name))
        schema = str(conn.execute(text("SELECT current_schema()")).scalar_one())
        owner, app, where = _quoted(conn, owner_role), _quoted(conn, app_role), _quoted(conn, schema)
        tables = [str(name) for name in conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :schema ORDER BY tablename"),
            {"schema": schema}).scalars()]
        conn.execute(text(f"GRANT USAGE, CREATE ON SCHEMA {where} TO {owner}"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA {where} TO {app}"))
        conn.execute(text(f"REVOKE CREATE ON SCHEMA {where} FROM {app}"))
        for table in tables:
            name = f"{where}.{_quoted(conn, table)}"
            conn.execute(text(f"ALTER TABLE {name} OWNER TO {owner}"))
            conn.execute(text(f"REVOKE ALL ON {name} FROM {app}"))
            rights = _READ_ONLY.get(table, "SELECT, INSERT, UPDATE, DELETE")
            conn.execute(text(f"GRANT {rights} ON {name} TO {app}"))
        conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {where} TO {app}"))
        # The trigger function must belong to the owner as well, or the application could replace it.
        functions = conn.execute(text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = :schema AND p.proname LIKE 'portalflow_%'"), {"schema": schema}).scalars()
        for function in functions:
            conn.execute(text(f"ALTER FUNCTION {function} OWNER TO {owner}"))
    return RoleReport(created, schema, len(tables))
