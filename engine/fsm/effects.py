"""The effects of the vocabulary: what a transition does, inside its transaction, in the order written.

Secrets are made here and leave only three ways: shown once to the caller (`ctx.shown`, `ctx.documents`),
sealed into an outbox row for delivery, or hashed into a credentials row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, update

from definitions.durations import Duration
from definitions.model import Call, Channel, Message, Recipient
from engine.audit.entry import about_enrollment
from engine.credentials.pins import format_pin
from engine.credentials.prepared import PinStock
from engine.credentials.tokens import new_link_token, token_digest
from engine.errors import Refused
from engine.fsm.context import TransitionContext
from engine.fsm.guards import count_sends
from engine.fsm.services import Document, HeldMessage, ShownSecret
from engine.ids import new_id
from engine.messaging.composing import MessageFacts, compose
from engine.messaging.contact import recipient_cap, send_window
from engine.messaging.sealing import filled
from engine.people.subjects import Patient
from engine.storage.direct import DirectStatement
from engine.storage.tables import credentials, households, outbox, patients, portal_accounts
from engine.timers.rows import arm_timer, cancel_named


def _open_pins(ctx: TransitionContext, patient_ids: list[str]) -> Any:
    return (credentials.c.patient_id.in_(patient_ids) & (credentials.c.kind == "pin")
            & credentials.c.used_at.is_(None) & credentials.c.revoked_at.is_(None))


def issue_pin(ctx: TransitionContext, call: Call) -> None:
    lifetime = call.param("lifetime")
    assert isinstance(lifetime, Duration)
    subject = ctx.subject
    targets = list(subject.selected_children() if call.param("for") == "selected_children" else subject.people())
    do_not_send = call.param("do_not_send") or "none"
    ids = [p.id for p in targets]
    ctx.conn.execute(update(credentials).where(_open_pins(ctx, ids)).values(revoked_at=ctx.now))
    expires = ctx.now + lifetime.delta
    rows = []
    stock = ctx.pin_stock or PinStock(ctx.services.hasher)  # hashed before the transaction when prepared
    for position, person in enumerate(targets):
        prepared = stock.take()
        pin = prepared.pin
        muted = do_not_send == "all" or (do_not_send == "all_but_first" and position > 0)
        ctx.pins[person.id] = pin
        ctx.shown.append(ShownSecret(person.id, "pin", format_pin(pin), expires, muted))
        lookup = ctx.services.pin_lookup.digest(person.birth_date, pin) if person.birth_date else None
        rows.append({"id": new_id(), "kind": "pin", "purpose": "registration",
                     "enrollment_id": ctx.enrollment.id, "patient_id": person.id,
                     "secret_hash": prepared.secret_hash, "lookup": lookup, "do_not_send": muted,
                     "failures": 0, "created_at": ctx.now, "expires_at": expires})
    if rows:
        ctx.conn.execute(insert(credentials), rows)


def revoke_pin(ctx: TransitionContext, call: Call) -> None:
    ids = [p.id for p in ctx.subject.people()]
    ctx.conn.execute(update(credentials).where(_open_pins(ctx, ids)).values(revoked_at=ctx.now))


def _account_for(ctx: TransitionContext, person: Patient) -> str:
    """One guardian account for all siblings; a patient enrollment gets the patient's own account."""
    existing = ctx.subject.household().portal_account_id if ctx.subject.is_household() else person.portal_account_id
    if existing:
        return existing
    account = new_id()
    ctx.conn.execute(insert(portal_accounts).values(id=account, username=None, password_hash=None,
                                                    must_change_password=False, created_at=ctx.now))
    if ctx.subject.is_household():
        ctx.conn.execute(update(households).where(households.c.id == ctx.subject.household().id)
                         .values(portal_account_id=account))
    return account


def redeem_pin(ctx: TransitionContext, call: Call) -> None:
    patient_id = ctx.presented["pin_patient_id"]
    credential_id = ctx.presented["pin_credential_id"]
    person = next(p for p in ctx.subject.people() if p.id == patient_id)
    # The PIN was checked before this transaction: it must still be open now, or two registrations could share it.
    redeemed = ctx.conn.execute(update(credentials).where(
        (credentials.c.id == credential_id) & credentials.c.used_at.is_(None) & credentials.c.revoked_at.is_(None)
        & credentials.c.locked_at.is_(None) & (credentials.c.expires_at > ctx.now)).values(used_at=ctx.now, failures=0))
    if redeemed.rowcount != 1:
        raise Refused(("the PIN was used, replaced, locked or expired while it was being checked",))
    account = _account_for(ctx, person)
    ctx.conn.execute(update(patients).where(patients.c.id == patient_id).values(portal_account_id=account))
    ctx.subject.forget()


def issue_link(ctx: TransitionContext, call: Call) -> None:
    lifetime = call.param("lifetime")
    assert isinstance(lifetime, Duration)
    purpose = str(call.param("purpose"))
    expires = ctx.now + lifetime.delta
    for person in ctx.subject.people():
        ctx.conn.execute(update(credentials).where(
            (credentials.c.patient_id == person.id) & (credentials.c.kind == "link")
            & credentials.c.used_at.is_(None) & credentials.c.revoked_at.is_(None)).values(revoked_at=ctx.now))
        token = new_link_token()
        digest = token_digest(token)
        url = f"{ctx.subject.site().portal_url.rstrip('/')}/access/{token}"
        ctx.links[person.id] = url
        ctx.shown.append(ShownSecret(person.id, "link", url, expires))
        ctx.conn.execute(insert(credentials).values(
            id=new_id(), kind="link", purpose=purpose, enrollment_id=ctx.enrollment.id,
            patient_id=person.id, secret_hash=digest, lookup=digest, do_not_send=False, failures=0,
            created_at=ctx.now, expires_at=expires))


def redeem_link(ctx: TransitionContext, call: Call) -> None:
    ctx.conn.execute(update(credentials).where(credentials.c.id == ctx.presented["link_credential_id"])
                     .values(used_at=ctx.now))


def _facts(ctx: TransitionContext, pin_people: list[Patient]) -> MessageFacts:
    subject = ctx.subject
    household = subject.household() if subject.is_household() else None
    first = subject.people()[0]
    shown = [s for s in ctx.shown if s.kind in ("pin", "link")]
    return MessageFacts(
        site=subject.site(), patient=None if household else subject.patient(), household=household,
        children=subject.selected_children() if household else (),
        pins=[(p, format_pin(ctx.pins[p.id])) for p in pin_people], link=ctx.links.get(first.id),
        expires_on=shown[-1].expires_at.date() if shown else None)


def _hold(ctx: TransitionContext, message: Message, recipient: str | None, reason: str) -> None:
    """The message is not written with a hole: it is kept, unsent, with the reason, for the failed-messages list."""
    ctx.conn.execute(insert(outbox).values(
        enrollment_id=ctx.enrollment.id, message_id=message.id, channel=message.channel.value, recipient=recipient,
        subject=None, body="", sealed=None, status="held", detail=reason, created_at=ctx.now, not_before=None,
        opening_hours=message.opening_hours, attempts=0))
    ctx.held.append(HeldMessage(message.id, reason))
    ctx.extra_audit.append(about_enrollment(ctx.enrollment, ctx.now, ctx.actor, "message_held", "refused",
                                            trigger=ctx.trigger_name, detail=f"message '{message.id}' {reason}"))


def _suppressed(ctx: TransitionContext, message_id: str) -> str | None:
    for limit in ctx.definition.limits:
        if message_id in limit.counts:
            count, maximum, within = count_sends(ctx, limit.id)
            if count >= maximum:
                return f"limit '{limit.id}' reached: {count} of {maximum} already sent in the last {within}"
    return None


def send_message(ctx: TransitionContext, call: Call) -> None:
    message = ctx.definition.message(str(call.param("message")))
    subject = ctx.subject
    senders = [p for p in subject.people() if p.id in ctx.pins]
    # A household's "do not send PIN" children never go by message: only the first child's PIN does.
    unmuted = {s.patient_id for s in ctx.shown if s.kind == "pin" and not s.do_not_send}
    pin_people = [p for p in senders if p.id in unmuted][:1]
    composed = compose(ctx.services.renderer, ctx.definition, message, _facts(ctx, pin_people))
    to_guardian = subject.is_household() and message.to is Recipient.GUARDIAN
    recipient = subject.email() if message.channel is Channel.EMAIL else (
        subject.household().id if to_guardian else subject.people()[0].id)
    if composed.rendered is None:
        _hold(ctx, message, recipient, composed.held or "held")
        return
    rendered, secrets = composed.rendered, composed.secrets
    why = _suppressed(ctx, message.id)
    window = None if why else send_window(ctx.conn, message, recipient, ctx.actor.kind, ctx.now, subject.calendar(),
                                          recipient_cap(ctx.conn, subject.site().id))
    ctx.conn.execute(insert(outbox).values(
        enrollment_id=ctx.enrollment.id, message_id=message.id, channel=message.channel.value, recipient=recipient,
        subject=rendered.subject, body=rendered.body, html=rendered.html,
        sealed=ctx.services.sealer.seal(secrets) if secrets and not why else None,
        status="suppressed" if why else "queued", detail=why or (window.why if window else None),
        created_at=ctx.now, not_before=window.not_before if window else None, opening_hours=message.opening_hours,
        attempts=0))
    if window is not None and window.capped:
        ctx.extra_audit.append(about_enrollment(ctx.enrollment, ctx.now, ctx.actor, "message_deferred", "ok",
                                                trigger=ctx.trigger_name,
                                                detail=f"message '{message.id}' deferred: {window.why}"))
    if why:
        ctx.extra_audit.append(about_enrollment(ctx.enrollment, ctx.now, ctx.actor, "message_suppressed", "refused",
                                                trigger=ctx.trigger_name,
                                                detail=f"message '{message.id}' not sent: {why}"))


def print_pin_letter(ctx: TransitionContext, call: Call) -> None:
    message = ctx.definition.message(str(call.param("message")))
    which = call.param("children")
    people = [p for p in ctx.subject.people() if p.id in ctx.pins]
    if which == "do_not_send":
        muted = {s.patient_id for s in ctx.shown if s.kind == "pin" and s.do_not_send}
        people = [p for p in people if p.id in muted]
    composed = compose(ctx.services.renderer, ctx.definition, message, _facts(ctx, people))
    if composed.rendered is None:
        _hold(ctx, message, None, composed.held or "held")
        return
    rendered = composed.rendered
    printable = filled(rendered.body, composed.secrets)
    # The printout is handed to staff once; the stored copy keeps only the markers.
    ctx.documents.append(Document(message.id, printable))
    ctx.conn.execute(insert(outbox).values(
        enrollment_id=ctx.enrollment.id, message_id=message.id, channel="letter", recipient=None,
        subject=None, body=rendered.body, sealed=None, status="printed", detail=None, created_at=ctx.now,
        not_before=None))


def start_timer(ctx: TransitionContext, call: Call) -> None:
    timer = ctx.definition.timer(str(call.param("timer")))
    cancel_named(ctx.conn, ctx.enrollment.id, timer.id, ctx.now)
    arm_timer(ctx.conn, ctx.enrollment.id, timer, ctx.now, ctx.subject.calendar)


def cancel_timer(ctx: TransitionContext, call: Call) -> None:
    cancel_named(ctx.conn, ctx.enrollment.id, str(call.param("timer")), ctx.now)


# One row per person (an IN list would be compiled again for every number of people).
_ENABLE_ACCESS = DirectStatement(update(patients).where(patients.c.id == bindparam("b_id"))
                                 .values(portal_access_enabled=bindparam("b_enabled")))


def enable_portal_access(ctx: TransitionContext, call: Call) -> None:
    _ENABLE_ACCESS.execute_many(ctx.conn, [{"b_id": p.id, "b_enabled": True} for p in ctx.subject.people()])
    ctx.subject.forget()


def set_username(ctx: TransitionContext, call: Call) -> None:
    username = str(ctx.input_of_type("username"))
    person = ctx.subject.people()[0]
    account = _account_for(ctx, person)
    ctx.conn.execute(update(portal_accounts).where(portal_accounts.c.id == account).values(username=username))
    ctx.conn.execute(update(patients).where(patients.c.id == person.id).values(portal_account_id=account))
    ctx.subject.forget()


def clear_temporary_password(ctx: TransitionContext, call: Call) -> None:
    accounts = [p.portal_account_id for p in ctx.subject.people() if p.portal_account_id]
    if accounts:
        ctx.conn.execute(update(portal_accounts).where(portal_accounts.c.id.in_(accounts))
                         .values(must_change_password=False))


def set_temporary_password(ctx: TransitionContext, call: Call) -> None:
    password = str(ctx.input_of_type("password"))
    person = ctx.subject.people()[0]
    account = _account_for(ctx, person)
    ctx.conn.execute(update(portal_accounts).where(portal_accounts.c.id == account).values(
        password_hash=ctx.services.hasher.hash(password), must_change_password=True))
