"""The locks an anchor takes on the audit tables, through a function that holds the owner's rights (PostgreSQL).

An anchor must wait for every transaction still inserting history rows (`engine.audit.anchors`), which takes a
SHARE ROW EXCLUSIVE lock on the table. PostgreSQL 15 grants that lock only to a role with UPDATE, DELETE or
TRUNCATE on it, which the application role must never have (`portalflow db roles`). So the lock is taken inside a
SECURITY DEFINER function that belongs to the tables' owner: the application may take these two locks and do
nothing else with the owner's rights. Its search_path is fixed when it is made, so a caller cannot point it
elsewhere. Revision 0012 makes it, and so does creating the tables from the metadata (tests); `portalflow db roles`
gives it to the owner with the other `portalflow_` functions.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import Connection, text

LOCK_FUNCTION: Final = "portalflow_lock_audit_table"

LOCK_FUNCTION_DDL: Final = f"""
CREATE OR REPLACE FUNCTION {LOCK_FUNCTION}(which text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF which = 'audit_anchors' THEN
        LOCK TABLE audit_anchors IN SHARE ROW EXCLUSIVE MODE;
    ELSIF which = 'audit_events' THEN
        LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE;
    ELSE
        RAISE EXCEPTION USING MESSAGE = 'not an audit table: ' || which;
    END IF;
END;
$$
"""

DROP_LOCK_FUNCTION_DDL: Final = f"DROP FUNCTION IF EXISTS {LOCK_FUNCTION}(text)"


def lock_audit_table(conn: Connection, table: str) -> None:
    """SHARE ROW EXCLUSIVE on `audit_anchors` or `audit_events` until the transaction (or savepoint) ends."""
    conn.execute(text(f"SELECT {LOCK_FUNCTION}(:which)"), {"which": table})
