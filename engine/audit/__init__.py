"""The audit trail: append-only, hash-chained rows, anchors over them, and the verifier that names the first altered
one; then reading and exporting histories for auditors.

Each audited action is one `audit_events` row. A row belongs to a chain and carries its position (`seq`), the hash
of the row before it (`prev_hash`) and its own `hash` = sha256(prev_hash + "\\n" + canonical JSON of its content
and position). Editing, removing or reordering a row therefore breaks its chain at that row, and `verify` says so.

Why one chain per enrollment rather than one for everything:
- A single global chain makes every audited transaction read and advance the same head row: on PostgreSQL every
  transition in the practice would queue on that one row lock, and the hot path would become serial.
- An enrollment's events form their own chain (key = enrollment id) whose head lives in `enrollments.audit_seq`
  and `enrollments.audit_head`, on the row the transition's optimistic version update locks anyway: appending
  takes no extra lock, and unrelated enrollments never wait for each other.
- Events outside an enrollment use "<subject_type>:<subject_id>" (e.g. "patient:p1", "staff:u1") or "global".
  They are rare, so they find their head by reading the chain's newest row; UNIQUE(chain, seq) catches a
  concurrent writer and the append is retried.
- A chain alone cannot show that its tail, or all of it, was deleted: what is left is still a valid chain. So
  `anchor` periodically writes a row binding the heads of all chains as of the newest event, chained to the
  previous anchor, and `verify` recomputes those heads: a missing tail or a missing chain no longer matches.

Limits: the hashes are unkeyed, so whoever can write these tables can rebuild a chain and every later anchor
consistently; anchor hashes copied elsewhere (exports, printed reports) expose that. The row id is not hashed
(the database assigns it after the hash is computed). The newest rows after the last anchor can be removed
unseen, as can the newest anchor. On PostgreSQL `engine.storage.audit_protection` keeps the application from
updating or deleting rows at all.
"""

from __future__ import annotations
