"""Messages read right: a message whose template prints an empty field is held with the reason (never sent with
a hole), plain text arrives as written, and an email's HTML alternative is escaped — through the real engine, a
real database and a real SMTP server on loopback. Secrets are compared with what the engine handed back."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeClock
from loopback_smtp import HOST, Server
from practice import seed_practice
from sqlalchemy import select, update

from definitions.model import Actor
from engine.actors import ActorRef
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment
from engine.front_door.flow import PortalFlow
from engine.messaging.channels import SmtpChannel, SmtpSettings
from engine.storage.tables import audit_events, outbox, patients, sites
from engine.views.worklists import messages_failed

ANA = ActorRef("ana", "staff", Actor.STAFF)
KEY = b"q" * 43 + b"="
ENROLL_NOW = {"confirm_required_fields": True, "enroll_now": "chart_banner"}
EASY_BUTTON = {"open_registration": "appointment", "create_validate_portal_account": True,
               "select_children": ["c-ava"], "click_register": True, "print_pins": True}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the shipped workflows, so a test may give a template an html block."""
    copy = tmp_path / "workflows"
    shutil.copytree(Path(__file__).resolve().parents[2] / "workflows", copy)
    return copy


@pytest.fixture
def make_flow(database_url: str, clock: FakeClock, folder: Path, tmp_path: Path,
              start_server: Callable[..., Server]) -> Iterator[Callable[[], tuple[PortalFlow, Server]]]:
    built: list[PortalFlow] = []

    def make() -> tuple[PortalFlow, Server]:
        server = start_server()
        channel = SmtpChannel(SmtpSettings(HOST, server.port, "none", timeout=2.0), clock=clock)
        flow = build(database_url, folder, clock=clock, hash_cost=TEST_COST, secret_key=KEY,
                     channels={"email": channel}, mail_folder=tmp_path / "mail")
        built.append(flow)
        seed_practice(flow.db)
        return flow, server

    yield make
    for flow in built:
        flow.close()


def set_site(flow: PortalFlow, **values: Any) -> None:
    """As an install set up before sites were asked for a phone would have it (the API refuses this now)."""
    with flow.db.begin() as conn:
        conn.execute(update(sites).where(sites.c.id == "main").values(**values))


def invite_jane(flow: PortalFlow) -> Any:
    started = flow.start(StartEnrollment("nextgen-pxp-portal-invites", ANA, patient_id="p-jane"))
    return flow.advance(AdvanceEnrollment(started.enrollment_id, "enroll_now", ANA, inputs=ENROLL_NOW))


def mail_of(server: Server) -> EmailMessage:
    (envelope,) = server.mailbox.received
    mail = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


def part(mail: EmailMessage, kind: str) -> str:
    found = mail.get_body(preferencelist=(kind,))
    assert found is not None
    assert found.get_content_type() == f"text/{kind}"
    content = found.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def test_an_empty_site_phone_holds_the_message_with_the_reason_and_the_step_still_happens(
        make_flow: Callable[[], tuple[PortalFlow, Server]], clock: FakeClock) -> None:
    flow, server = make_flow()
    set_site(flow, phone=None)

    done = invite_jane(flow)

    assert done.to_state == "invited"
    (link,) = done.shown
    (held,) = done.held
    assert held.message_id == "manual_invite"
    assert held.reason.startswith("held: the site's phone number is empty (template pxp_portal_invitation.j2, line ")
    with flow.db.connect() as conn:
        row = conn.execute(select(outbox).where(outbox.c.enrollment_id == done.enrollment_id)).one()
        history = conn.execute(select(audit_events.c.action, audit_events.c.outcome, audit_events.c.detail)
                               .where(audit_events.c.enrollment_id == done.enrollment_id)).all()
        failed = messages_failed(conn, clock.now(), sites=None)
    assert (row.status, row.body, row.html, row.sealed, row.detail) == ("held", "", None, None, held.reason)
    assert ("message_held", "refused", f"message 'manual_invite' {held.reason}") in history
    assert [(f.outbox_id, f.status, f.detail) for f in failed] == [(row.id, "held", held.reason)]
    assert flow.delivery.deliver().handled == 0
    assert server.mailbox.received == []
    assert not [text for entry in history for text in entry if text and link.value in text]


def test_a_letter_whose_template_prints_an_empty_field_is_held_and_not_handed_to_staff(
        make_flow: Callable[[], tuple[PortalFlow, Server]]) -> None:
    flow, _ = make_flow()
    set_site(flow, phone="  ")
    started = flow.start(StartEnrollment("op-generate-pin-easy-button", ANA, household_id="h-lee"))

    done = flow.advance(AdvanceEnrollment(started.enrollment_id, "register", ANA, inputs=EASY_BUTTON))

    assert done.documents == ()
    (pin,) = done.shown  # staff still see the PIN once, on screen
    (held,) = done.held
    assert "the site's phone number is empty" in held.reason
    assert pin.value not in held.reason
    with flow.db.connect() as conn:
        assert conn.execute(select(outbox.c.channel, outbox.c.status)).all() == [("letter", "held")]


def test_a_placeholder_name_is_never_printed_in_a_greeting(
        make_flow: Callable[[], tuple[PortalFlow, Server]]) -> None:
    flow, _ = make_flow()
    with flow.db.begin() as conn:
        conn.execute(update(patients).where(patients.c.id == "p-jane").values(name_is_placeholder=True))

    done = invite_jane(flow)

    (held,) = done.held
    assert held.reason.startswith("held: the patient's name 'Jane Doe' is still a placeholder (template")


def test_plain_text_arrives_as_written_and_the_html_alternative_is_escaped_with_its_link_in_place(
        make_flow: Callable[[], tuple[PortalFlow, Server]], folder: Path) -> None:
    template = folder / "templates" / "pxp_portal_invitation.j2"
    template.write_text(template.read_text(encoding="utf-8") + (
        "{% block html %}<p>Dear {{ patient.given_name }},</p>\n<p>{{ practice.name }} invites you: "
        "<a href=\"{{ link }}\">activate your account</a>.</p>{% endblock %}\n"), encoding="utf-8")
    flow, server = make_flow()
    set_site(flow, name="Smith & Jones <Family> Practice")
    with flow.db.begin() as conn:
        conn.execute(update(patients).where(patients.c.id == "p-jane").values(given_name="Jane & June"))

    (link,) = invite_jane(flow).shown
    assert flow.delivery.deliver().counts["sent"] == 1

    mail = mail_of(server)
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["Subject"] == "You are invited to the Smith & Jones <Family> Practice patient portal"
    text = part(mail, "plain")
    assert "Dear Jane & June Doe," in text
    assert "&amp;" not in text
    assert f"Activate your account here:\n{link.value}\n" in text
    html = part(mail, "html")
    assert "<p>Dear Jane &amp; June,</p>" in html
    assert "Smith &amp; Jones &lt;Family&gt; Practice invites you" in html
    assert f'<a href="{link.value}">' in html


def test_an_email_without_an_html_block_is_plain_text_only(
        make_flow: Callable[[], tuple[PortalFlow, Server]]) -> None:
    flow, server = make_flow()
    invite_jane(flow)
    flow.delivery.deliver()
    assert mail_of(server).get_content_type() == "text/plain"

