"""The guards of the vocabulary: each returns None when it holds, or the values its refusal text names.

Guards only read. A guard over "the patient" applies to every selected child when the subject is a household.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from definitions.durations import Duration
from definitions.model import Call, LimitScope
from engine.fsm.context import TransitionContext
from engine.fsm.send_counts import sends_counted
from engine.storage.tables import credentials, portal_accounts, staff_users

Verdict = dict[str, Any] | None

FIELD_WORDS = {"first_name": "first name", "last_name": "last name", "birth_date": "date of birth",
               "birth_sex": "birth sex", "zip": "zip code", "email": "email address"}
_FIELD_COLUMNS = {"first_name": "given_name", "last_name": "family_name", "birth_date": "birth_date",
                  "birth_sex": "birth_sex", "zip": "zip", "email": "email"}
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{3,63}$")


def required_demographics(ctx: TransitionContext, call: Call) -> Verdict:
    fields = call.param("fields") or tuple(FIELD_WORDS)
    assert isinstance(fields, tuple)
    missing: list[str] = []
    for person in ctx.subject.people():
        for name in fields:
            if getattr(person, _FIELD_COLUMNS[name]) in (None, ""):
                word = FIELD_WORDS[name]
                missing.append(word if not ctx.subject.is_household() else f"{person.display_name}: {word}")
    return {"missing": ", ".join(missing)} if missing else None


def email_on_file(ctx: TransitionContext, call: Call) -> Verdict:
    return None if ctx.subject.email() else {}


def email_confirmed_personal(ctx: TransitionContext, call: Call) -> Verdict:
    confirmed = (ctx.subject.household().guardian_email_confirmed_personal if ctx.subject.is_household()
                 else ctx.subject.patient().email_confirmed_personal)
    return None if confirmed else {}


def name_not_placeholder(ctx: TransitionContext, call: Call) -> Verdict:
    for person in ctx.subject.people():
        if person.name_is_placeholder:
            return {"name": person.display_name}
    return None


def actor_linked_to_staff_record(ctx: TransitionContext, call: Call) -> Verdict:
    linked = ctx.conn.execute(select(staff_users.c.linked_to_staff_record)
                              .where(staff_users.c.id == ctx.actor.id)).scalar()
    return None if linked else {}


def portal_access_enabled(ctx: TransitionContext, call: Call) -> Verdict:
    return None if all(p.portal_access_enabled for p in ctx.subject.people()) else {}


def username_valid_and_unique(ctx: TransitionContext, call: Call) -> Verdict:
    username = ctx.input_of_type("username") or ""
    problem = username_problem(ctx, str(username))
    return {"username": username} if problem else None


def username_problem(ctx: TransitionContext, username: str) -> str | None:
    if not USERNAME.match(username):
        return f"username '{username}' must be 4-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
    own = [p.portal_account_id for p in ctx.subject.people() if p.portal_account_id]
    taken = ctx.conn.execute(select(portal_accounts.c.id).where(
        func.lower(portal_accounts.c.username) == username.lower())).scalar()
    if taken is not None and taken not in own:
        return f"username '{username}' is already taken"
    return None


def count_sends(ctx: TransitionContext, limit_id: str) -> tuple[int, int, Duration]:
    limit = ctx.definition.limit(limit_id)
    since = ctx.now - timedelta(seconds=limit.within.seconds)
    if limit.per is LimitScope.RECIPIENT:
        count = sends_counted(ctx.conn, limit.counts, since, per_recipient=True, recipient=ctx.subject.email())
    else:
        count = sends_counted(ctx.conn, limit.counts, since, per_recipient=False,
                              people=[p.id for p in ctx.subject.people()], enrollment_id=ctx.enrollment.id)
    return count, limit.max, limit.within


def within_limit(ctx: TransitionContext, call: Call) -> Verdict:
    count, maximum, within = count_sends(ctx, str(call.param("limit")))
    return None if count < maximum else {"count": count, "max": maximum, "within": within}


def pin_age_at_least(ctx: TransitionContext, call: Call) -> Verdict:
    age = call.param("age")
    assert isinstance(age, Duration)
    people = [p.id for p in ctx.subject.people()]
    newest = ctx.conn.execute(select(func.max(credentials.c.created_at)).where(
        credentials.c.patient_id.in_(people), credentials.c.kind == "pin",
        credentials.c.revoked_at.is_(None), credentials.c.used_at.is_(None))).scalar()
    if newest is None:
        return None
    newest = newest if newest.tzinfo else newest.replace(tzinfo=ctx.now.tzinfo)
    return None if ctx.now - newest >= age.delta else {"age": age}


def site_live(ctx: TransitionContext, call: Call) -> Verdict:
    go_live = ctx.subject.site().go_live_on
    return None if go_live is not None and go_live <= ctx.now.date() else {}


def children_selected(ctx: TransitionContext, call: Call) -> Verdict:
    minimum = call.integer("min", 1)
    return None if len(ctx.subject.selected) >= minimum else {"min": minimum}


def pin_and_birth_date_match(ctx: TransitionContext, call: Call) -> Verdict:
    """The portal presented a PIN already verified against its hash (see engine.enrollments.portal); it must belong to a
    child of this enrollment that is still pending."""
    patient_id = ctx.presented.get("pin_patient_id")
    people = {p.id for p in ctx.subject.people()}
    return None if patient_id is not None and patient_id in people else {}


def link_token_valid(ctx: TransitionContext, call: Call) -> Verdict:
    return None if ctx.presented.get("link_patient_id") in {p.id for p in ctx.subject.people()} else {}


def temporary_password_set(ctx: TransitionContext, call: Call) -> Verdict:
    accounts = [p.portal_account_id for p in ctx.subject.people() if p.portal_account_id]
    flagged = ctx.conn.execute(select(portal_accounts.c.id).where(
        portal_accounts.c.id.in_(accounts) & portal_accounts.c.must_change_password)).first() if accounts else None
    return None if flagged is not None else {}


def last_pending_child(ctx: TransitionContext, call: Call) -> Verdict:
    presented = ctx.presented.get("pin_patient_id")
    pending = [p.id for p in ctx.subject.people() if p.portal_account_id is None and p.id != presented]
    return None if not pending else {}
