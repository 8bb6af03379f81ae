"""What guardians and patients do on the portal: register with a PIN and date of birth, use an access link, and
what the portal reports afterwards (an account activated).

The portal's caller learns nothing from a refusal: a wrong PIN, a wrong date of birth, an unknown patient, a
locked or expired PIN, an unknown, used or expired link all get the same words (`REFUSED`); which one it was goes
to the enrollment's history, where staff and auditors read it, whenever the credential is known. A wrong attempt
counts against every open PIN of patients with that date of birth (the PIN cannot be identified from a wrong
guess); 100 consecutive failures lock that PIN, not the account. Expiry is checked here, at use, whatever the
timers did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, select, update

from definitions.model import Actor
from engine.actors import PORTAL_ACTOR, ActorRef
from engine.audit.entry import about_enrollment
from engine.audit.trail import note
from engine.clock import as_utc
from engine.credentials.even_time import LINK_REFUSAL_FLOOR, PIN_REFUSAL_FLOOR, refusals_take_at_least
from engine.credentials.pins import MAX_PIN_FAILURES, normalise_pin
from engine.credentials.refusal_counts import count_refusal
from engine.credentials.tokens import same_digest, token_digest
from engine.enrollments.advance import AdvanceEnrollment, Advancer, EnrollmentAdvanced
from engine.errors import Conflict, CredentialRefused, NotAllowed, Refused
from engine.fsm.rows import read_enrollment
from engine.storage.database import reading
from engine.storage.tables import credentials, enrollments, patients

REFUSED = "the PIN or link was not accepted: check it and the date of birth, or ask the practice for a new one"
ACTIVATED = "account_activated"


@dataclass(frozen=True, slots=True)
class PresentPin:
    pin: str
    birth_date: date
    trigger: str | None = None


def present_pin(advancer: Advancer, command: PresentPin) -> EnrollmentAdvanced:
    """Find the PIN by its keyed digest, check it with one Argon2 verification outside any transaction, then write
    briefly: a failure counted, a refusal recorded, or the registration's advance. Every failure costs one
    verification and one short write, whether or not the birth date has open PINs, and answers no sooner than
    `PIN_REFUSAL_FLOOR` after the PIN arrived."""
    with refusals_take_at_least(PIN_REFUSAL_FLOOR):
        return _present_pin(advancer, command)


def _present_pin(advancer: Advancer, command: PresentPin) -> EnrollmentAdvanced:
    services = advancer.services
    now = services.clock.now()
    presented = normalise_pin(command.pin)
    digest = services.pin_lookup.digest(command.birth_date, presented)
    with reading(advancer.db).connect() as conn:
        found = conn.execute(select(credentials).where(
            (credentials.c.kind == "pin") & (credentials.c.lookup == digest))).first()
        legacy = [] if found is not None else conn.execute(_open_pins_of(command.birth_date).where(
            credentials.c.lookup.is_(None))).all()
    if found is not None:
        match = found if services.hasher.verify(found.secret_hash, presented) else None
    else:
        services.hasher.verify_nothing(presented)
        # PINs issued before lookup digests existed: each checked, as they were then, until they expire.
        match = next((r for r in legacy if services.hasher.verify(r.secret_hash, presented)), None)
    if match is None:
        _count_failure(advancer.db, command.birth_date, now)
        raise CredentialRefused("wrong", REFUSED)
    why = ("used" if match.used_at is not None or match.revoked_at is not None
           else "locked" if match.locked_at is not None
           else "expired" if as_utc(match.expires_at) <= now else None)
    if why is not None:
        _refused(advancer.db, "pin", now, match.enrollment_id,
                 f"{_PIN_STATES[why]} PIN of {match.patient_id} was presented")
        raise CredentialRefused(why, REFUSED)
    return _advance_with(advancer, match.enrollment_id, "pin_and_birth_date_match", command.trigger,
                         {"pin_patient_id": match.patient_id, "pin_credential_id": match.id},
                         "this PIN cannot be used for registration right now")


_PIN_STATES = {"used": "a used or replaced", "locked": "a locked", "expired": "an expired"}


def _open_pins_of(birth_date: date) -> Select[Any]:
    return select(credentials).where(
        (credentials.c.kind == "pin") & credentials.c.used_at.is_(None) & credentials.c.revoked_at.is_(None)
        & credentials.c.patient_id.in_(select(patients.c.id).where(patients.c.birth_date == birth_date)))


def _count_failure(db: Engine, birth_date: date, now: datetime) -> None:
    """A wrong PIN counts against every open PIN of that birth date (which one was meant cannot be known), in one
    statement; the 100th failure in a row locks that PIN, said on its enrollment's history."""
    with db.begin() as conn:
        count_refusal(conn, "pin", now)
        counted = conn.execute(update(credentials).where(
            (credentials.c.kind == "pin") & credentials.c.used_at.is_(None) & credentials.c.revoked_at.is_(None)
            & credentials.c.patient_id.in_(select(patients.c.id).where(patients.c.birth_date == birth_date)))
            .values(failures=credentials.c.failures + 1).returning(
                credentials.c.id, credentials.c.failures, credentials.c.locked_at, credentials.c.enrollment_id,
                credentials.c.patient_id)).all()
        for row in counted:
            if row.failures >= MAX_PIN_FAILURES and row.locked_at is None:
                conn.execute(update(credentials).where(credentials.c.id == row.id).values(locked_at=now))
                _refused_on(conn, row.enrollment_id, now, f"the PIN of {row.patient_id} locked after "
                            f"{row.failures} wrong attempts at the portal")


def present_link(advancer: Advancer, token: str, trigger: str | None = None) -> EnrollmentAdvanced:
    """Use an access link. Every refusal (unknown, used, expired, not usable now) answers no sooner than
    `LINK_REFUSAL_FLOOR` after the link arrived: the known ones also write why on the enrollment's history, and
    the caller must not tell them from an unknown one by time."""
    with refusals_take_at_least(LINK_REFUSAL_FLOOR):
        return _present_link(advancer, token, trigger)


def _present_link(advancer: Advancer, token: str, trigger: str | None) -> EnrollmentAdvanced:
    digest = token_digest(token)
    now = advancer.services.clock.now()
    with advancer.db.connect() as conn:
        match = conn.execute(select(credentials).where(
            (credentials.c.kind == "link") & (credentials.c.lookup == digest))).first()
    if match is None or not same_digest(match.secret_hash, digest):
        _refused(advancer.db, "link", now)
        raise CredentialRefused("unknown", REFUSED)
    why = ("used" if match.used_at is not None or match.revoked_at is not None
           else "expired" if as_utc(match.expires_at) <= now else None)
    if why is not None:
        _refused(advancer.db, "link", now, match.enrollment_id,
                 f"{'a used or replaced' if why == 'used' else 'an expired'} link of {match.patient_id} was presented")
        raise CredentialRefused(why, REFUSED)
    return _advance_with(advancer, match.enrollment_id, "link_token_valid", trigger,
                         {"link_patient_id": match.patient_id, "link_credential_id": match.id},
                         "this link cannot be used right now")


def _refused(db: Engine, door: str, now: datetime, enrollment_id: str | None = None, detail: str = "") -> None:
    """Every refusal is one short write: the day's count and, when the credential is known, why on its
    enrollment's history. Known or not, the caller waits the same."""
    with db.begin() as conn:
        count_refusal(conn, door, now)
        if enrollment_id is not None:
            _refused_on(conn, enrollment_id, now, detail)


def _refused_on(conn: Connection, enrollment_id: str, now: datetime, detail: str) -> None:
    """Why the portal's caller was refused, on the enrollment's history (never the PIN itself)."""
    note(conn, enrollment_id, lambda tip: about_enrollment(tip, now, PORTAL_ACTOR, "credential_refused", "refused",
                                                           detail=detail))


def _advance_with(advancer: Advancer, enrollment_id: str, guard: str, wanted: str | None,
                  presented: dict[str, str], unusable: str) -> EnrollmentAdvanced:
    """Fire the portal transition, from the enrollment's current state, that checks the presented credential.

    A right credential that cannot be used now (the enrollment is elsewhere, a guard says no, the PIN was used
    meanwhile) gets the same answer as a wrong one: the caller must not learn that it was right. Why goes to the
    enrollment's history (the advancer records guard refusals itself)."""
    with advancer.db.connect() as conn:
        row = read_enrollment(conn, enrollment_id)
    definition = advancer.catalog.get(row.workflow_id, row.workflow_version)
    triggers = [t.trigger for t in definition.transitions_from(row.state)
                if t.by is Actor.PORTAL and any(g.name == guard for g in t.guards)]
    chosen = wanted if wanted in triggers else (triggers[0] if triggers else None)
    door = "pin" if "pin_patient_id" in presented else "link"
    now = advancer.services.clock.now()
    if chosen is None:
        _refused(advancer.db, door, now, enrollment_id, f"{unusable} (state '{row.state}')")
        raise CredentialRefused("not_now", REFUSED)
    try:
        return advancer(AdvanceEnrollment(enrollment_id=row.id, trigger=chosen, actor=PORTAL_ACTOR,
                                          presented=presented))
    except Refused:
        _refused(advancer.db, door, now)  # the advancer wrote why on the enrollment's history
        raise CredentialRefused("refused", REFUSED) from None


def report_activation(advancer: Advancer, patient_id: str, source: ActorRef) -> list[EnrollmentAdvanced]:
    """The portal says a patient activated the account: every running enrollment of theirs that waits for it moves.

    Returns what moved (possibly nothing: an unknown patient and one with nothing waiting look the same to the
    caller, who must not learn which patients exist).
    """
    with advancer.db.connect() as conn:
        rows = conn.execute(select(enrollments.c.id, enrollments.c.workflow_id, enrollments.c.workflow_version,
                                   enrollments.c.state).where(enrollments.c.patient_id == patient_id)).all()
    moved: list[EnrollmentAdvanced] = []
    for row in rows:
        definition = advancer.catalog.get(row.workflow_id, row.workflow_version)
        if any(t.trigger == ACTIVATED and t.by is Actor.INTEGRATION for t in definition.transitions_from(row.state)):
            try:
                moved.append(advancer(AdvanceEnrollment(row.id, ACTIVATED, source)))
            except (Refused, Conflict, NotAllowed):
                continue  # recorded in that enrollment's history by the advancer; the next report retries
    return moved
