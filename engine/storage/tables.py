"""The database schema as SQLAlchemy Core tables: the same code on SQLite (default) and PostgreSQL.

Core rather than the ORM: a transition is a handful of explicit statements on the hot path, with no identity map
or per-row objects to build. Times are aware UTC; JSON columns hold step inputs with secrets already removed.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Time,
    false,
    func,
    text,
)

from engine.storage.attempt_tables import portal_refusals as portal_refusals  # every table is known from here
from engine.storage.attempt_tables import sign_in_addresses as sign_in_addresses
from engine.storage.audit_tables import audit_anchors as audit_anchors
from engine.storage.audit_tables import audit_events as audit_events
from engine.storage.schema import metadata as metadata  # re-exported: migrations and tests know it from here
from engine.storage.schema import utc_time
from engine.storage.wall_tables import staff_user_sites as staff_user_sites

sites = Table(
    "sites", metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("portal_url", String(500), nullable=False),
    Column("phone", String(32), nullable=True),
    Column("specialist_office", Boolean, nullable=False, default=False),
    Column("go_live_on", Date, nullable=True),
    Column("country", String(8), nullable=True),  # public holidays (the `holidays` package's code), e.g. "US"
    Column("subdivision", String(16), nullable=True),  # e.g. "NY"
    Column("from_address", String(320), nullable=True),  # the From of the site's emails
    Column("recipient_daily_cap", Integer, nullable=True),  # emails to one address per day, across enrollments
    Column("workflows", JSON(none_as_null=True), nullable=True),  # the workflow ids it uses; NULL: every one
)

site_hours = Table(
    "site_hours", metadata,
    Column("site_id", String(64), ForeignKey("sites.id"), primary_key=True),
    Column("weekday", Integer, primary_key=True),  # 0 = Monday
    Column("opens", Time, primary_key=True),  # local wall time
    Column("closes", Time, nullable=False),
)

site_closures = Table(
    "site_closures", metadata,
    Column("site_id", String(64), ForeignKey("sites.id"), primary_key=True),
    Column("day", Date, primary_key=True),  # local date
    Column("reason", String(200), nullable=False),
)

staff_users = Table(
    "staff_users", metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("linked_to_staff_record", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("password_hash", String(200), nullable=True),  # Argon2id; only for the login endpoint
    Column("must_change_password", Boolean, nullable=False, default=False, server_default=false()),
    Column("failed_sign_ins", Integer, nullable=False, default=0, server_default="0"),  # in a row
    utc_time("sign_in_paused_until", nullable=True),  # set after too many failures in a row
)

# Bearer tokens (and web sessions): 256-bit random values stored only as SHA-256, each revocable on its own.
api_tokens = Table(
    "api_tokens", metadata,
    Column("digest", String(64), primary_key=True),
    Column("user_id", String(64), ForeignKey("staff_users.id"), nullable=False),
    Column("label", String(120), nullable=False),
    utc_time("created_at"),
    utc_time("expires_at", nullable=True),
    utc_time("revoked_at", nullable=True),
    utc_time("last_used_at", nullable=True),  # web sessions only: for their idle expiry
    Index("ix_api_tokens_user", "user_id"),
)

providers = Table(
    "providers", metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
)

portal_accounts = Table(
    "portal_accounts", metadata,
    Column("id", String(64), primary_key=True),
    Column("username", String(120), nullable=True, unique=True),
    Column("password_hash", String(200), nullable=True),
    Column("must_change_password", Boolean, nullable=False, default=False),
    utc_time("created_at"),
)
Index("ix_portal_accounts_username", func.lower(portal_accounts.c.username))  # signing in ignores case

patients = Table(
    "patients", metadata,
    Column("id", String(64), primary_key=True),
    Column("site_id", String(64), ForeignKey("sites.id"), nullable=False),
    Column("given_name", String(120), nullable=True),
    Column("family_name", String(120), nullable=True),
    Column("name_is_placeholder", Boolean, nullable=False, default=False),
    Column("birth_date", Date, nullable=True),
    Column("birth_sex", String(16), nullable=True),
    Column("zip", String(16), nullable=True),
    Column("email", String(320), nullable=True),
    Column("email_confirmed_personal", Boolean, nullable=False, default=False),
    Column("cell_phone", String(32), nullable=True),
    Column("pcp_id", String(64), ForeignKey("providers.id"), nullable=True),
    Column("responsible_provider_id", String(64), ForeignKey("providers.id"), nullable=True),
    Column("portal_access_enabled", Boolean, nullable=False, default=False),
    Column("portal_account_id", String(64), ForeignKey("portal_accounts.id"), nullable=True),
    Index("ix_patients_site", "site_id", "id"), Index("ix_patients_birth_date", "birth_date"),
)
# Staff search by name prefix, any case: on PostgreSQL byte-wise (text_pattern_ops), so that LIKE 'doe%' is a range
# of the index whatever the database's collation (revision 0014).
Index("ix_patients_family_name", func.lower(patients.c.family_name).label("family"),
      postgresql_ops={"family": "text_pattern_ops"})
Index("ix_patients_given_name", func.lower(patients.c.given_name).label("given"),
      postgresql_ops={"given": "text_pattern_ops"})

households = Table(
    "households", metadata,
    Column("id", String(64), primary_key=True),
    Column("site_id", String(64), ForeignKey("sites.id"), nullable=False),
    Column("guardian_given_name", String(120), nullable=False),
    Column("guardian_family_name", String(120), nullable=False),
    Column("guardian_email", String(320), nullable=True),
    Column("guardian_email_confirmed_personal", Boolean, nullable=False, default=False),
    Column("portal_account_id", String(64), ForeignKey("portal_accounts.id"), nullable=True),
    Index("ix_households_site", "site_id", "id"),
)

household_members = Table(
    "household_members", metadata,
    Column("household_id", String(64), ForeignKey("households.id"), primary_key=True),
    Column("patient_id", String(64), ForeignKey("patients.id"), primary_key=True),
    Column("position", Integer, nullable=False),
    Index("ix_household_members_patient", "patient_id"),  # a patient's households
)

workflow_versions = Table(
    "workflow_versions", metadata,
    Column("workflow_id", String(120), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("content_hash", String(64), nullable=False),
    Column("source", Text, nullable=False),
    utc_time("published_at"),
    Column("templates", JSON(none_as_null=True), nullable=True),  # {name: text} of the templates it uses
    Column("published_by", String(64), nullable=True),  # a user id, or "service" when published on start
    Column("file_name", String(255), nullable=True),  # the file it was published from, for the designer
)

enrollments = Table(
    "enrollments", metadata,
    Column("id", String(64), primary_key=True),
    Column("workflow_id", String(120), nullable=False),
    Column("workflow_version", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("patient_id", String(64), ForeignKey("patients.id"), nullable=True),
    Column("household_id", String(64), ForeignKey("households.id"), nullable=True),
    # The subject's site, copied when the enrollment starts (a patient's or household's site never changes), so
    # that one site's worklists walk an index of that site's rows (revision 0014). Set on every row; nullable only
    # because SQLite cannot add a NOT NULL column without a default to a table with rows short of rebuilding it.
    Column("site_id", String(64), nullable=True),
    Column("state", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("selected_children", JSON(none_as_null=True), nullable=True),  # no selection is SQL NULL
    Column("audit_seq", Integer, nullable=False),
    Column("audit_head", String(64), nullable=False),
    utc_time("started_at"),
    utc_time("updated_at"),
    Index("ix_enrollments_workflow_state", "workflow_id", "state", "started_at"),  # newest first
    Index("ix_enrollments_patient", "patient_id"), Index("ix_enrollments_household", "household_id"),
    Index("ix_enrollments_started", "started_at"),
    Index("ix_enrollments_waiting", "workflow_id", "workflow_version", "state", "updated_at"),  # longest first
    Index("ix_enrollments_site_waiting", "site_id", "workflow_id", "workflow_version", "state", "updated_at"),
)

step_completions = Table(
    "step_completions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("enrollment_id", String(64), ForeignKey("enrollments.id"), nullable=False),
    Column("enrollment_version", Integer, nullable=False),
    Column("trigger", String(64), nullable=False),
    Column("step_id", String(64), nullable=False),
    Column("inputs", JSON, nullable=True),
    Column("actor_id", String(64), nullable=False),
    utc_time("completed_at"),
    Index("ix_step_completions_enrollment", "enrollment_id", "enrollment_version"),
)

_OPEN = text("used_at IS NULL AND revoked_at IS NULL AND locked_at IS NULL")  # a credential still usable
credentials = Table(
    "credentials", metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(8), nullable=False),  # pin | link
    Column("purpose", String(32), nullable=False),  # registration | invitation | reset | invitation_or_reset
    Column("enrollment_id", String(64), ForeignKey("enrollments.id"), nullable=False),
    Column("patient_id", String(64), ForeignKey("patients.id"), nullable=False),
    Column("secret_hash", String(200), nullable=False),
    Column("lookup", String(64), nullable=True, unique=True),  # SHA-256 of a link token, for lookup
    Column("do_not_send", Boolean, nullable=False, default=False),
    Column("failures", Integer, nullable=False, default=0),
    utc_time("created_at"),
    utc_time("expires_at"),
    utc_time("used_at", nullable=True),
    utc_time("revoked_at", nullable=True),
    utc_time("locked_at", nullable=True),
    Index("ix_credentials_patient_kind", "patient_id", "kind"), Index("ix_credentials_enrollment", "enrollment_id"),
    Index("ix_credentials_open", "kind", "expires_at", sqlite_where=_OPEN, postgresql_where=_OPEN),  # the worklist
)

_PENDING = text("status = 'pending'")  # a timer not yet settled (`engine.timers.rows.PENDING`)
timers = Table(
    "timers", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("enrollment_id", String(64), ForeignKey("enrollments.id"), nullable=False),
    Column("timer_id", String(64), nullable=False),
    Column("trigger", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # pending | fired | refused | cancelled | skipped | failed
    utc_time("armed_at"),
    utc_time("due_at"),
    utc_time("settled_at", nullable=True),
    Column("attempts", Integer, nullable=False, default=0, server_default=text("0")),  # firings retried after errors
    Column("detail", Text, nullable=True),  # why it waits (opening hours), was skipped, refused or failed
    # Pending timers only (revision 0015): every read that needs an index asks for them, and a settled timer then
    # leaves both indexes instead of moving within them. The condition is written as a literal in those reads.
    Index("ix_timers_due", "due_at", "id", sqlite_where=_PENDING, postgresql_where=_PENDING),  # the sweep's claim
    Index("ix_timers_enrollment", "enrollment_id", "due_at", sqlite_where=_PENDING,
          postgresql_where=_PENDING),  # an enrollment's, soonest first; why due_at: revision 0009
)

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("enrollment_id", String(64), ForeignKey("enrollments.id"), nullable=False),
    Column("message_id", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(320), nullable=True),
    Column("subject", Text, nullable=True),
    Column("body", Text, nullable=False),  # plain text ("" when held); `html`: an email's HTML alternative, if any
    Column("html", Text, nullable=True),
    Column("sealed", Text, nullable=True),  # secrets the body's markers stand for, encrypted (engine.messaging.sealing)
    Column("status", String(16), nullable=False),  # queued suppressed held printed sending sent failed review
    Column("detail", Text, nullable=True),
    utc_time("created_at"),
    utc_time("not_before", nullable=True),
    Column("opening_hours", Boolean, nullable=False, default=False, server_default=false()),  # only while open
    Column("attempts", Integer, nullable=False, default=0, server_default=text("0")),
    utc_time("next_attempt_at", nullable=True),
    utc_time("sending_at", nullable=True),
    utc_time("sent_at", nullable=True),
    Column("delivery_ref", String(500), nullable=True),  # Message-ID or file the channel reported
    Index("ix_outbox_status", "status", "created_at"),
    Index("ix_outbox_due", "status", "next_attempt_at"),
    Index("ix_outbox_recipient", "recipient", "created_at"), Index("ix_outbox_enrollment", "enrollment_id"),
)

intake_events = Table(
    "intake_events", metadata,
    Column("key", String(200), primary_key=True),  # the sender's idempotency key
    Column("kind", String(32), nullable=False),
    Column("patient_id", String(64), nullable=False),
    utc_time("received_at"),
    Column("outcome", String(16), nullable=False),  # acted | ignored | refused
    Column("detail", Text, nullable=True),
    Column("enrollment_ids", JSON(none_as_null=True), nullable=True),  # the enrollments it started or moved
)
