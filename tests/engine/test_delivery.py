"""The outbox worker end to end: a workflow queues an email, `flow.delivery.deliver()` hands it to a real SMTP
server on loopback (aiosmtpd) or to the mail folder, and each outcome (sent, retried, failed, flagged for review,
held for opening hours) is what the outbox row, the server and the enrollment's history say, on SQLite and on
PostgreSQL. Secrets are compared with the values the engine handed back, never written into the test."""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import Envelope
from fakes import DiesAfterHandOver, FakeClock, WorkerDied
from loopback_smtp import HOST, Mailbox, Server, free_port
from practice import seed_practice
from sqlalchemy import select, update

from definitions.model import Actor
from engine.actors import ActorRef
from engine.audit.verify import verify
from engine.bootstrap import build
from engine.calendars.site_calendar import SiteCalendar
from engine.calendars.store import save_calendar
from engine.credentials.hashing import TEST_COST
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment
from engine.front_door.flow import PortalFlow
from engine.messaging.channels import ChannelAdapter, SmtpChannel, SmtpSettings
from engine.messaging.delivery import BACKOFF
from engine.messaging.sealing import marker
from engine.storage.tables import audit_events, outbox, sites

KEY = b"q" * 43 + b"="
SMTP_TIMEOUT = 2.0  # seconds: short, so a misbehaving server cannot slow the file down
SITE_FROM = "Maple Family Practice <portal@maple.example>"
ANA = ActorRef("ana", "staff", Actor.STAFF)
EHR = ActorRef("ehr", "integration", Actor.INTEGRATION)
SIBLING_STEPS: dict[str, Any] = {
    "select_children": ["c-ava", "c-cal"], "open_first_child": "patient_administration",
    "first_child_send_pin": True, "complete_first_child": True, "begin_next_sibling": True,
    "sibling_do_not_send_pin": True, "print_sibling_pins": True, "complete_siblings": True,
}
ENROLL_NOW_STEPS: dict[str, Any] = {"confirm_required_fields": True, "enroll_now": "chart_banner"}
WEEKDAYS_9_TO_5 = {weekday: ((time(9), time(17)),) for weekday in range(5)}
GO_LIVE = date(2026, 1, 5)


def smtp_to(port: int, clock: FakeClock) -> SmtpChannel:
    return SmtpChannel(SmtpSettings(HOST, port, "none", timeout=SMTP_TIMEOUT), clock=clock)


def parsed(content: bytes | str | None) -> EmailMessage:
    assert isinstance(content, bytes)
    mail = message_from_bytes(content, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


def received_mail(envelope: Envelope) -> EmailMessage:
    return parsed(envelope.original_content or envelope.content)


def text_of(mail: EmailMessage) -> str:
    content = mail.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


# ----- the engine, with the channels a test chooses ------------------------------------------------------------


MakeFlow = Callable[..., PortalFlow]


@pytest.fixture
def make_flow(database_url: str, clock: FakeClock, workflows_dir: Path, tmp_path: Path) -> Iterator[MakeFlow]:
    """The engine on either database with the given channels; without any, the embedded folder under tmp_path."""
    built: list[PortalFlow] = []

    def make(channels: Mapping[str, ChannelAdapter] | None = None, *, from_address: str | None = SITE_FROM
             ) -> PortalFlow:
        flow = build(database_url, workflows_dir, clock=clock, hash_cost=TEST_COST, secret_key=KEY,
                     channels=channels, mail_folder=tmp_path / "mail")
        built.append(flow)
        seed_practice(flow.db)
        with flow.db.begin() as conn:
            conn.execute(update(sites).where(sites.c.id == "main").values(from_address=from_address))
        return flow

    yield make
    for flow in built:
        flow.db.dispose()


@dataclass(frozen=True)
class Queued:
    enrollment_id: str
    outbox_id: int
    secret: str  # what staff were shown and the email must carry
    withheld: tuple[str, ...] = ()  # secrets shown to staff that must NOT be in the email


def _email_row_of(flow: PortalFlow, enrollment_id: str) -> int:
    with flow.db.connect() as conn:
        return int(conn.execute(select(outbox.c.id).where((outbox.c.enrollment_id == enrollment_id)
                                                          & (outbox.c.channel == "email"))).scalar_one())


def queue_welcome_email(flow: PortalFlow) -> Queued:
    """IntelliChart siblings: the first child's PIN goes to the guardian by email, the other one is printed."""
    started = flow.start(StartEnrollment("intellichart-pins-for-siblings", ANA, household_id="h-lee"))
    done = flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_sibling_pins", ANA, inputs=SIBLING_STEPS))
    first, *others = done.shown
    assert (first.kind, first.do_not_send) == ("pin", False)
    return Queued(started.enrollment_id, _email_row_of(flow, started.enrollment_id), first.value,
                  tuple(s.value for s in others))


def queue_invitation(flow: PortalFlow) -> Queued:
    """NextGen PxP "Enroll Now" by staff: an invitation link to Jane, sent at once."""
    started = flow.start(StartEnrollment("nextgen-pxp-portal-invites", ANA, patient_id="p-jane"))
    done = flow.advance(AdvanceEnrollment(started.enrollment_id, "enroll_now", ANA, inputs=ENROLL_NOW_STEPS))
    (link,) = done.shown
    assert link.kind == "link"
    return Queued(started.enrollment_id, _email_row_of(flow, started.enrollment_id), link.value)


def queue_auto_invite(flow: PortalFlow) -> Queued:
    """NextGen PxP auto invite: the EHR reports a new chart; the message goes only in opening hours."""
    started = flow.start(StartEnrollment("nextgen-pxp-portal-invites", ANA, patient_id="p-jane"))
    done = flow.advance(AdvanceEnrollment(started.enrollment_id, "chart_added", EHR))
    (link,) = done.shown
    return Queued(started.enrollment_id, _email_row_of(flow, started.enrollment_id), link.value)


def row_of(flow: PortalFlow, queued: Queued) -> Any:
    with flow.db.connect() as conn:
        return conn.execute(select(outbox).where(outbox.c.id == queued.outbox_id)).one()


def history_of(flow: PortalFlow, queued: Queued) -> list[Any]:
    with flow.db.connect() as conn:
        return list(conn.execute(select(audit_events.c.action, audit_events.c.outcome, audit_events.c.actor_id,
                                        audit_events.c.detail)
                                 .where(audit_events.c.enrollment_id == queued.enrollment_id)
                                 .order_by(audit_events.c.seq)).all())


def delivery_actions(flow: PortalFlow, queued: Queued) -> list[str]:
    return [e.action for e in history_of(flow, queued) if e.action.startswith("message_")]


def assert_history_is_intact_and_keeps_the_secret(flow: PortalFlow, queued: Queued) -> None:
    """The worker's notes chain onto the enrollment's history like any other row, and none of them holds the
    secret the message carried."""
    with flow.db.connect() as conn:
        texts = conn.execute(select(audit_events.c.detail, audit_events.c.reason)).all()
        verified = verify(conn)
    leaked = [t for row in texts for t in row if t and queued.secret in t]
    assert leaked == []
    assert (verified.ok, verified.first_problem) == (True, None)


def aware(moment: datetime | None) -> datetime:
    assert moment is not None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)  # SQLite: naive UTC


def set_calendar(flow: PortalFlow, closures: Mapping[date, str] | None = None) -> None:
    calendar = SiteCalendar("America/New_York", WEEKDAYS_9_TO_5, closures=closures or {}, go_live=GO_LIVE)
    with flow.db.begin() as conn:
        save_calendar(conn, "main", calendar)


# ----- 1. delivered once ---------------------------------------------------------------------------------------


def test_a_queued_email_reaches_the_smtp_server_once_with_its_pin_while_the_row_keeps_only_the_marker(
        make_flow: MakeFlow, start_server: Callable[..., Server], clock: FakeClock) -> None:
    server = start_server()
    flow = make_flow({"email": smtp_to(server.port, clock)})
    queued = queue_welcome_email(flow)

    report = flow.delivery.deliver()

    assert report.counts["sent"] == 1
    assert report.handled == 1
    (envelope,) = server.mailbox.received
    assert envelope.mail_from == "portal@maple.example"
    assert envelope.rcpt_tos == ["kim@example.test"]
    mail = received_mail(envelope)
    assert mail["From"] == SITE_FROM
    assert mail["To"] == "kim@example.test"
    assert mail["Subject"] == "Welcome to the Maple Family Practice patient portal"
    assert mail["Date"].datetime == clock.now()
    body = text_of(mail)
    assert f"Your registration PIN: {queued.secret}\n" in body
    assert "[[sealed:" not in body
    assert queued.withheld
    assert not any(pin in body for pin in queued.withheld)  # the sibling's PIN is printed, never emailed

    row = row_of(flow, queued)
    assert row.status == "sent"
    assert row.attempts == 1
    assert row.sealed is None
    assert row.delivery_ref == mail["Message-ID"]
    assert row.delivery_ref.startswith(f"<outbox-{queued.outbox_id}.")
    assert aware(row.sent_at) == clock.now()
    assert f"Your registration PIN: {marker('pin')}\n" in row.body
    assert queued.secret not in row.body

    again = flow.delivery.deliver()

    assert again.handled == 0
    assert str(again) == "nothing to send"
    assert len(server.mailbox.received) == 1
    sent = [e for e in history_of(flow, queued) if e.action == "message_sent"]
    assert [(e.outcome, e.actor_id, e.detail) for e in sent] == [("ok", "system", f"outbox-{queued.outbox_id} (email)")]
    assert_history_is_intact_and_keeps_the_secret(flow, queued)


# ----- 2. the worker dies between hand-over and acknowledgement -----------------------------------------------


def test_a_worker_that_dies_after_the_server_took_the_message_leaves_it_for_review_and_never_resends_it(
        make_flow: MakeFlow, start_server: Callable[..., Server], clock: FakeClock) -> None:
    server = start_server()
    flow = make_flow({"email": DiesAfterHandOver(smtp_to(server.port, clock))})
    queued = queue_invitation(flow)
    died_at = clock.now()

    with pytest.raises(WorkerDied):
        flow.delivery.deliver()

    assert len(server.mailbox.received) == 1
    row = row_of(flow, queued)
    assert (row.status, row.attempts) == ("sending", 1)
    assert aware(row.sending_at) == died_at

    restarted = flow.delivery.deliver()  # a new run at the same moment: the row is not stale yet

    assert (restarted.handled, restarted.flagged_stale) == (0, 0)
    assert row_of(flow, queued).status == "sending"
    assert len(server.mailbox.received) == 1

    clock.advance(flow.delivery.stale_after)
    assert flow.delivery.deliver().flagged_stale == 0  # exactly `stale_after` is not yet "longer than"
    clock.advance(timedelta(seconds=1))

    report = flow.delivery.deliver()

    assert report.flagged_stale == 1
    assert report.handled == 0
    assert str(report) == "1 left sending by a stopped worker, flagged for review"
    row = row_of(flow, queued)
    assert row.status == "review"
    assert row.detail == (f"the worker stopped while handing outbox-{queued.outbox_id} to its channel at "
                          f"{died_at:%Y-%m-%d %H:%M} UTC: it may or may not have gone; check the channel (mail "
                          f"server log: Message-ID starting outbox-{queued.outbox_id}.) before sending it again")
    assert len(server.mailbox.received) == 1
    review = [e for e in history_of(flow, queued) if e.action == "message_review"]
    assert [(e.outcome, e.actor_id) for e in review] == [("failed", "system")]
    assert review[0].detail == f"manual_invite: {row.detail}"

    clock.advance(timedelta(days=1))
    later = flow.delivery.deliver()

    assert (later.handled, later.flagged_stale) == (0, 0)
    assert len(server.mailbox.received) == 1
    assert delivery_actions(flow, queued) == ["message_review"]
    assert_history_is_intact_and_keeps_the_secret(flow, queued)


# ----- 3. temporary failures: retried with backoff, then given up ---------------------------------------------


@pytest.mark.parametrize("trouble", ["451-to-rcpt", "closed-port"])
def test_a_temporary_failure_waits_a_minute_and_the_next_attempt_sends_it_once(
        make_flow: MakeFlow, start_server: Callable[..., Server], clock: FakeClock, trouble: str) -> None:
    if trouble == "451-to-rcpt":
        server = start_server(Mailbox(rcpt_reply="451 4.7.1 Greylisted, try again later"))
        port, expected = server.port, "451 4.7.1 Greylisted, try again later to RCPT TO"
    else:
        port, expected = free_port(), "connecting with 127.0.0.1"
    flow = make_flow({"email": smtp_to(port, clock)})
    queued = queue_invitation(flow)
    failed_at = clock.now()

    report = flow.delivery.deliver()

    assert report.counts["retry"] == 1
    row = row_of(flow, queued)
    assert (row.status, row.attempts) == ("queued", 1)
    assert aware(row.next_attempt_at) == failed_at + timedelta(minutes=1)
    assert row.detail.startswith("attempt 1 failed: ")
    assert expected in row.detail
    assert row.detail.endswith("; next attempt 2026-03-02 14:01 UTC")
    assert row.sealed is not None  # the link is still needed for the next attempt
    assert delivery_actions(flow, queued) == ["message_retry"]

    clock.advance(timedelta(seconds=59))
    assert flow.delivery.deliver().handled == 0  # not before the next attempt time

    if trouble == "451-to-rcpt":
        server.mailbox.rcpt_reply = None  # the greylisting lifts
    else:
        server = start_server(port=port)  # the mail server comes up
    clock.advance(timedelta(seconds=1))

    report = flow.delivery.deliver()

    assert report.counts["sent"] == 1
    (envelope,) = server.mailbox.received
    assert envelope.rcpt_tos == ["jane@example.test"]
    assert f"Activate your account here:\n{queued.secret}\n" in text_of(received_mail(envelope))
    row = row_of(flow, queued)
    assert (row.status, row.attempts, row.detail, row.sealed) == ("sent", 2, None, None)
    assert flow.delivery.deliver().handled == 0
    assert len(server.mailbox.received) == 1
    assert delivery_actions(flow, queued) == ["message_retry", "message_sent"]
    assert_history_is_intact_and_keeps_the_secret(flow, queued)


def test_a_message_still_refused_after_the_last_of_six_attempts_fails_and_its_secrets_are_destroyed(
        make_flow: MakeFlow, start_server: Callable[..., Server], clock: FakeClock) -> None:
    server = start_server(Mailbox(rcpt_reply="451 4.3.0 Mail system full"))
    flow = make_flow({"email": smtp_to(server.port, clock)})
    queued = queue_invitation(flow)
    assert flow.delivery.max_attempts == len(BACKOFF) + 1 == 6

    for attempt, wait in enumerate(BACKOFF, start=1):
        assert flow.delivery.deliver().counts["retry"] == 1
        row = row_of(flow, queued)
        assert (row.status, row.attempts) == ("queued", attempt)
        assert aware(row.next_attempt_at) == clock.now() + wait
        clock.set(aware(row.next_attempt_at))

    report = flow.delivery.deliver()

    assert report.counts["failed"] == 1
    row = row_of(flow, queued)
    assert (row.status, row.attempts, row.sealed) == ("failed", 6, None)
    assert row.detail == (f"gave up after 6 attempts: {HOST}:{server.port} answered 451 4.3.0 Mail system full "
                          "to RCPT TO")
    assert delivery_actions(flow, queued) == ["message_retry"] * 5 + ["message_failed"]
    assert server.mailbox.received == []
    clock.advance(timedelta(days=1))
    assert flow.delivery.deliver().handled == 0


# ----- 4. a permanent failure ----------------------------------------------------------------------------------


def test_a_permanent_refusal_fails_at_once_and_destroys_the_sealed_secrets(
        make_flow: MakeFlow, start_server: Callable[..., Server], clock: FakeClock) -> None:
    server = start_server(Mailbox(rcpt_reply="550 5.1.1 No such user"))
    flow = make_flow({"email": smtp_to(server.port, clock)})
    queued = queue_welcome_email(flow)

    report = flow.delivery.deliver()

    assert report.counts["failed"] == 1
    row = row_of(flow, queued)
    assert (row.status, row.attempts, row.sealed, row.next_attempt_at) == ("failed", 1, None, None)
    assert row.detail == f"{HOST}:{server.port} answered 550 5.1.1 No such user to RCPT TO"
    failed = [e for e in history_of(flow, queued) if e.action == "message_failed"]
    assert [(e.outcome, e.detail) for e in failed] == [("failed", f"outbox-{queued.outbox_id} (email): {row.detail}")]
    clock.advance(timedelta(days=1))
    assert flow.delivery.deliver().handled == 0
    assert server.mailbox.received == []
    assert_history_is_intact_and_keeps_the_secret(flow, queued)


# ----- 5. the outcome is unknown -------------------------------------------------------------------------------


def test_a_server_that_hangs_up_after_the_final_dot_gets_the_message_flagged_for_review_and_never_again(
        make_flow: MakeFlow, start_server: Callable[..., Server], clock: FakeClock) -> None:
    server = start_server(Mailbox(hang_up_after_dot=True))
    flow = make_flow({"email": smtp_to(server.port, clock)})
    queued = queue_invitation(flow)

    report = flow.delivery.deliver()

    assert report.counts["review"] == 1
    assert server.mailbox.handed_over == 1
    row = row_of(flow, queued)
    assert (row.status, row.attempts) == ("review", 1)
    assert f"the whole message <outbox-{queued.outbox_id}." in row.detail
    assert "it may have been delivered" in row.detail
    assert row.detail.endswith("; check the channel before sending it again")

    server.mailbox.hang_up_after_dot = False  # even a healthy server later must not get a second copy
    for wait in (timedelta(minutes=1), timedelta(minutes=11), timedelta(days=1)):
        clock.advance(wait)
        later = flow.delivery.deliver()
        assert (later.handled, later.flagged_stale) == (0, 0)

    assert server.mailbox.handed_over == 1
    assert row_of(flow, queued).status == "review"
    assert delivery_actions(flow, queued) == ["message_review"]
    assert_history_is_intact_and_keeps_the_secret(flow, queued)


# ----- 6. opening hours ----------------------------------------------------------------------------------------


def test_an_auto_invite_queued_after_closing_waits_for_the_next_opening_moment(
        make_flow: MakeFlow, start_server: Callable[..., Server], clock: FakeClock) -> None:
    server = start_server()
    flow = make_flow({"email": smtp_to(server.port, clock)})
    set_calendar(flow)
    clock.set(datetime(2026, 3, 6, 23, 0, tzinfo=UTC))  # Fri 6 Mar 18:00 in New York: closed since 17:00
    queued = queue_auto_invite(flow)
    opening = datetime(2026, 3, 9, 13, 0, tzinfo=UTC)  # Mon 9 Mar 09:00 EDT: the clocks went forward on Sunday

    row = row_of(flow, queued)

    assert row.status == "queued"
    assert aware(row.not_before) == opening
    assert row.detail == ("waits for opening hours: next send Mon 9 Mar 09:00 America/New_York: Fri 6 Mar after "
                          "closing at 17:00; Sat 7 Mar, Sun 8 Mar closed; Mon 9 Mar before opening at 09:00")

    assert flow.delivery.deliver().handled == 0  # still Friday evening
    clock.set(opening - timedelta(seconds=1))
    assert flow.delivery.deliver().handled == 0  # Monday 08:59:59
    assert server.mailbox.received == []
    clock.set(opening)

    report = flow.delivery.deliver()

    assert report.counts["sent"] == 1
    (envelope,) = server.mailbox.received
    assert envelope.rcpt_tos == ["jane@example.test"]
    assert queued.secret in text_of(received_mail(envelope))
    row = row_of(flow, queued)
    assert (row.status, row.attempts) == ("sent", 1)
    assert aware(row.sent_at) == opening
    assert flow.delivery.deliver().handled == 0
    assert len(server.mailbox.received) == 1


def test_an_auto_invite_queued_while_open_is_deferred_by_a_closure_added_before_it_was_sent(
        make_flow: MakeFlow, start_server: Callable[..., Server], clock: FakeClock) -> None:
    server = start_server()
    flow = make_flow({"email": smtp_to(server.port, clock)})
    set_calendar(flow)  # Mon 2 Mar 14:00 UTC is 09:00 in New York: just open
    queued = queue_auto_invite(flow)
    assert (row_of(flow, queued).not_before, row_of(flow, queued).detail) == (None, None)
    set_calendar(flow, closures={date(2026, 3, 2): "staff training"})
    opening = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # Tue 3 Mar 09:00 EST

    report = flow.delivery.deliver()

    assert report.counts["deferred"] == 1
    assert server.mailbox.received == []
    row = row_of(flow, queued)
    assert (row.status, row.attempts) == ("queued", 0)
    assert aware(row.not_before) == opening
    assert row.detail == ("waits for opening hours: next send Tue 3 Mar 09:00 America/New_York: "
                          "Mon 2 Mar closed: staff training; Tue 3 Mar before opening at 09:00")
    assert flow.delivery.deliver().handled == 0
    clock.set(opening)

    assert flow.delivery.deliver().counts["sent"] == 1
    assert len(server.mailbox.received) == 1
    assert row_of(flow, queued).status == "sent"


# ----- 7. the embedded default channel -------------------------------------------------------------------------


def test_without_smtp_the_email_becomes_one_eml_file_only_its_owner_can_read(
        make_flow: MakeFlow, tmp_path: Path) -> None:
    flow = make_flow(None)
    queued = queue_welcome_email(flow)

    report = flow.delivery.deliver()

    assert report.counts["sent"] == 1
    path = tmp_path / "mail" / "email" / f"outbox-{queued.outbox_id}.eml"
    assert sorted((tmp_path / "mail").rglob("*.eml")) == [path]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    mail = parsed(path.read_bytes())
    assert mail["To"] == "kim@example.test"
    assert mail["From"] == SITE_FROM
    assert f"Your registration PIN: {queued.secret}\n" in text_of(mail)
    row = row_of(flow, queued)
    assert (row.status, row.delivery_ref, row.sealed) == ("sent", str(path), None)
    assert flow.delivery.deliver().handled == 0
    assert sorted((tmp_path / "mail").rglob("*.eml")) == [path]


def test_a_fresh_install_with_no_from_address_configured_still_delivers(make_flow: MakeFlow, tmp_path: Path) -> None:
    flow = make_flow(None, from_address=None)
    queued = queue_welcome_email(flow)

    report = flow.delivery.deliver()

    assert row_of(flow, queued).detail is None
    assert report.counts["sent"] == 1
    assert (tmp_path / "mail" / "email" / f"outbox-{queued.outbox_id}.eml").exists()
