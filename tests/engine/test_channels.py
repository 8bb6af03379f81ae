"""Channel adapters against a real SMTP server on loopback (aiosmtpd) and a real folder: what arrives, and how
each way of failing is reported to the outbox worker, without the message body ever leaking into an error."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import stat
from collections.abc import Callable
from dataclasses import dataclass, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd import smtp as aiosmtp
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fakes import FakeClock
from loopback_smtp import HOST, Mailbox, Server, free_port

from engine.messaging.channels import (
    ChannelError,
    FolderChannel,
    OutgoingMessage,
    PermanentFailure,
    SmtpChannel,
    SmtpSettings,
    TemporaryFailure,
    UnknownOutcome,
)

SECRET = "PIN 7KQ2-M9XD"
PASSWORD = "correct horse battery staple"
LONG_LINE = "Bienvenue à la clinique, " + "é" * 400
BODY = f"Bonjour Élodie,\n\nYour {SECRET} opens the portal.\n.a line that starts with a dot\n{LONG_LINE}\n"
NOW = dt.datetime(2025, 3, 14, 15, 9, 26, tzinfo=dt.UTC)
FAST = 0.5  # seconds: the client's timeout when a test makes the server stall, so the suite stays quick


def a_message(**changes: Any) -> OutgoingMessage:
    message = OutgoingMessage(message_ref="outbox-42", channel="email", recipient="jane.doe@patients.example",
                              subject="Votre accès au portail — Main Street", body=BODY,
                              sender="Main Street Practice <portal@practice.example>")
    return replace(message, **changes)


@pytest.fixture
def server(start_server: Callable[..., Server]) -> Server:
    return start_server()


@pytest.fixture
def channel(server: Server) -> SmtpChannel:
    return SmtpChannel(server.settings(), clock=FakeClock(NOW))


@dataclass(frozen=True)
class Certificate:
    server_context: ssl.SSLContext
    trusting_client: ssl.SSLContext


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1, and a client context that trusts it (and nothing else)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "portalflow test server")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
            .not_valid_after(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    client = ssl.create_default_context(cadata=cert.public_bytes(serialization.Encoding.PEM).decode())
    return Certificate(server_context, client)


def check_password(server: aiosmtp.SMTP, session: Session, envelope: Envelope, mechanism: str,
                   auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data == (b"portal", PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


def parsed(envelope: Envelope) -> EmailMessage:
    content = envelope.original_content or envelope.content
    assert isinstance(content, bytes)
    mail = message_from_bytes(content, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


def text_of(mail: EmailMessage) -> str:
    # On the wire and in .eml files lines end in CRLF (RFC 5322); the body we queued used plain newlines.
    content = mail.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def assert_keeps_the_secret(error: BaseException) -> None:
    """Nothing a worker could log or store, down the whole cause chain, carries the body's secret."""
    seen: BaseException | None = error
    while seen is not None:
        for text in (str(seen), repr(seen), getattr(seen, "detail", ""), *map(str, seen.args)):
            assert SECRET not in text
            assert "7KQ2" not in text
            assert PASSWORD not in text
        seen = seen.__cause__ or seen.__context__


def failure_of(channel: SmtpChannel | FolderChannel, message: OutgoingMessage,
               expected: type[ChannelError]) -> ChannelError:
    with pytest.raises(expected) as caught:
        channel.send(message)
    assert_keeps_the_secret(caught.value)
    assert caught.value.detail
    return caught.value


# --- SMTP: delivered ------------------------------------------------------------------------------------------


def test_a_message_reaches_the_loopback_smtp_server_once(server: Server, channel: SmtpChannel) -> None:
    channel.send(a_message())

    assert len(server.mailbox.received) == 1
    envelope = server.mailbox.received[0]
    assert envelope.mail_from == "portal@practice.example"
    assert envelope.rcpt_tos == ["jane.doe@patients.example"]
    mail = parsed(envelope)
    assert mail["From"] == "Main Street Practice <portal@practice.example>"
    assert mail["To"] == "jane.doe@patients.example"
    assert mail["Subject"] == "Votre accès au portail — Main Street"
    assert mail["Date"].datetime == NOW
    assert mail.get_content_type() == "text/plain"
    assert mail.get_content_charset() == "utf-8"
    assert text_of(mail) == BODY


def test_the_delivery_reference_is_the_message_id_made_from_the_outbox_ref(server: Server,
                                                                            channel: SmtpChannel) -> None:
    reference = channel.send(a_message())

    assert parsed(server.mailbox.received[0])["Message-ID"] == reference
    assert reference.startswith("<outbox-42.")
    assert reference.endswith("@practice.example>")
    assert channel.send(a_message()) != reference  # a re-send is a new message to the server


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # a loopback test server
def test_a_login_with_the_right_password_delivers(start_server: Callable[..., Server]) -> None:
    server = start_server(authenticator=check_password, auth_required=True, auth_require_tls=False)

    SmtpChannel(server.settings(username="portal", password=PASSWORD)).send(a_message())

    assert len(server.mailbox.received) == 1


def test_a_message_goes_over_starttls_to_a_server_whose_certificate_we_trust(
        start_server: Callable[..., Server], certificate: Certificate) -> None:
    server = start_server(tls_context=certificate.server_context, require_starttls=True,
                          authenticator=check_password, auth_required=True)
    settings = server.settings(security="starttls", username="portal", password=PASSWORD)

    SmtpChannel(settings, ssl_context=certificate.trusting_client).send(a_message())

    assert len(server.mailbox.received) == 1


def test_a_message_goes_over_implicit_tls(start_server: Callable[..., Server], certificate: Certificate) -> None:
    server = start_server(ssl_context=certificate.server_context)

    SmtpChannel(server.settings(security="tls"), ssl_context=certificate.trusting_client).send(a_message())

    assert len(server.mailbox.received) == 1


def test_a_non_ascii_address_goes_with_smtputf8(server: Server, channel: SmtpChannel) -> None:
    channel.send(a_message(recipient="élodie@exemple.fr"))

    assert server.mailbox.received[0].rcpt_tos == ["élodie@exemple.fr"]
    assert parsed(server.mailbox.received[0])["To"] == "élodie@exemple.fr"


# --- SMTP: not delivered, worth retrying ------------------------------------------------------------------------


@pytest.mark.parametrize(("mailbox", "code", "expected"), [
    (Mailbox(rcpt_reply="451 4.7.1 Greylisted, try again later"), 451, TemporaryFailure),
    (Mailbox(rcpt_reply="550 5.1.1 No such user"), 550, PermanentFailure),
    (Mailbox(data_reply="452 4.3.1 Insufficient system storage"), 452, TemporaryFailure),
    (Mailbox(data_reply="554 5.7.1 Message rejected as spam"), 554, PermanentFailure),
], ids=["451-to-rcpt", "550-to-rcpt", "452-to-data", "554-to-data"])
def test_a_refusal_is_temporary_for_4xx_and_permanent_for_5xx(
        start_server: Callable[..., Server], mailbox: Mailbox, code: int, expected: type[ChannelError]) -> None:
    server = start_server(mailbox)

    error = failure_of(SmtpChannel(server.settings()), a_message(), expected)

    assert error.code == code
    assert str(code) in error.detail
    assert f"{HOST}:{server.port}" in error.detail
    assert mailbox.received == []


def test_a_closed_port_is_a_temporary_failure() -> None:
    channel = SmtpChannel(SmtpSettings(HOST, free_port(), "none", timeout=2.0))

    error = failure_of(channel, a_message(), TemporaryFailure)

    assert HOST in error.detail


def test_a_server_that_stalls_before_the_data_is_a_temporary_failure(start_server: Callable[..., Server]) -> None:
    server = start_server(Mailbox(stall_at_rcpt=FAST * 3))

    failure_of(SmtpChannel(server.settings(timeout=FAST)), a_message(), TemporaryFailure)


def test_a_server_whose_certificate_we_do_not_trust_gets_nothing(
        start_server: Callable[..., Server], certificate: Certificate) -> None:
    server = start_server(tls_context=certificate.server_context, require_starttls=True)

    error = failure_of(SmtpChannel(server.settings(security="starttls")), a_message(), TemporaryFailure)

    assert "STARTTLS" in error.detail
    assert server.mailbox.received == []


def test_a_server_without_starttls_is_not_sent_anything_in_clear(server: Server) -> None:
    error = failure_of(SmtpChannel(server.settings(security="starttls")), a_message(), TemporaryFailure)

    assert "STARTTLS" in error.detail
    assert server.mailbox.received == []


# --- SMTP: not delivered, retrying won't help -------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # a loopback test server
def test_a_wrong_password_is_a_permanent_failure(start_server: Callable[..., Server]) -> None:
    server = start_server(authenticator=check_password, auth_required=True, auth_require_tls=False)

    error = failure_of(SmtpChannel(server.settings(username="portal", password="wrong")), a_message(),
                       PermanentFailure)

    assert error.code == 535
    assert "AUTH" in error.detail
    assert "wrong" not in error.detail


def test_a_non_ascii_address_to_a_server_without_smtputf8_is_a_permanent_failure(
        start_server: Callable[..., Server]) -> None:
    server = start_server(enable_SMTPUTF8=False)

    error = failure_of(SmtpChannel(server.settings()), a_message(recipient="élodie@exemple.fr"), PermanentFailure)

    assert "SMTPUTF8" in error.detail


@pytest.mark.parametrize("recipient", [
    None, "", "   ", "not-an-address", "jane@patients.example, joe@patients.example",
    "jane@patients.example\r\nBcc: everyone@patients.example",
])
def test_an_empty_or_invalid_recipient_is_refused_without_calling_the_server(recipient: str | None) -> None:
    # The port is closed: reaching out to it would show up as a temporary failure instead.
    channel = SmtpChannel(SmtpSettings(HOST, free_port(), "none"))

    failure_of(channel, a_message(recipient=recipient), PermanentFailure)


def test_the_smtp_channel_refuses_a_letter() -> None:
    channel = SmtpChannel(SmtpSettings(HOST, free_port(), "none"))

    failure_of(channel, a_message(channel="letter", recipient=None), PermanentFailure)


# --- SMTP: maybe delivered -------------------------------------------------------------------------------------


def test_a_server_that_hangs_up_after_the_final_dot_leaves_the_outcome_unknown(
        start_server: Callable[..., Server]) -> None:
    server = start_server(Mailbox(hang_up_after_dot=True))

    error = failure_of(SmtpChannel(server.settings()), a_message(), UnknownOutcome)

    assert "<outbox-42." in error.detail  # what a reviewer searches the mail server's log for


def test_a_server_that_stays_silent_after_the_final_dot_leaves_the_outcome_unknown(
        start_server: Callable[..., Server]) -> None:
    server = start_server(Mailbox(stall_after_dot=FAST * 3))

    failure_of(SmtpChannel(server.settings(timeout=FAST)), a_message(), UnknownOutcome)


# --- SMTP settings ---------------------------------------------------------------------------------------------


def test_smtp_settings_never_show_the_password() -> None:
    settings = SmtpSettings("mail.practice.example", 587, "starttls", "portal", PASSWORD)

    assert PASSWORD not in repr(settings)
    assert PASSWORD not in str(settings)
    assert "portal" in repr(settings)


def test_smtp_settings_refuse_an_unknown_security_mode_or_half_a_login() -> None:
    with pytest.raises(ValueError, match="security"):
        SmtpSettings("mail.practice.example", 25, "ssl")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="both or neither"):
        SmtpSettings("mail.practice.example", 587, "starttls", username="portal")


# --- Folder ----------------------------------------------------------------------------------------------------


def test_the_folder_channel_writes_a_parseable_eml_only_its_owner_can_read(tmp_path: Path) -> None:
    channel = FolderChannel(tmp_path / "outbox", "email", clock=FakeClock(NOW))

    path = Path(channel.send(a_message()))

    assert path == tmp_path / "outbox" / "email" / "outbox-42.eml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    mail = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(mail, EmailMessage)
    assert mail["To"] == "jane.doe@patients.example"
    assert mail["Subject"] == "Votre accès au portail — Main Street"
    assert mail["Message-ID"].startswith("<outbox-42.")
    assert text_of(mail) == BODY


def test_writing_the_same_message_twice_keeps_the_first_file(tmp_path: Path) -> None:
    channel = FolderChannel(tmp_path, "email")
    first = channel.send(a_message())
    before = Path(first).read_bytes()

    second = channel.send(a_message(body="a different body"))

    assert second == first
    assert Path(first).read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "email").iterdir()) == ["outbox-42.eml"]  # no temporary leftovers


@pytest.mark.parametrize(("kind", "recipient"), [("letter", None), ("secure_message", "household-7")])
def test_letters_and_secure_messages_land_in_their_own_folder(tmp_path: Path, kind: str,
                                                              recipient: str | None) -> None:
    path = Path(FolderChannel(tmp_path, kind).send(a_message(channel=kind, recipient=recipient)))

    assert path.parent == tmp_path / kind
    mail = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert mail["X-PortalFlow-Channel"] == kind
    assert mail["X-PortalFlow-Recipient"] == recipient
    assert mail["To"] is None


def test_a_folder_that_cannot_be_created_is_a_temporary_failure(tmp_path: Path) -> None:
    (tmp_path / "outbox").write_text("a file where the folder should be", encoding="utf-8")

    error = failure_of(FolderChannel(tmp_path / "outbox", "letter"), a_message(channel="letter", recipient=None),
                       TemporaryFailure)

    assert str(tmp_path / "outbox") in error.detail


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders anyway")
def test_a_read_only_folder_is_a_temporary_failure(tmp_path: Path) -> None:
    (tmp_path / "email").mkdir(mode=0o500)
    try:
        error = failure_of(FolderChannel(tmp_path, "email"), a_message(), TemporaryFailure)
    finally:
        (tmp_path / "email").chmod(0o700)

    assert str(tmp_path / "email") in error.detail


@pytest.mark.parametrize("ref", ["../escape", "outbox/42", ".hidden", ""])
def test_a_reference_unsafe_as_a_file_name_is_refused(tmp_path: Path, ref: str) -> None:
    failure_of(FolderChannel(tmp_path / "outbox", "email"), a_message(message_ref=ref), PermanentFailure)

    assert not (tmp_path / "outbox").exists()
    assert list(tmp_path.iterdir()) == []
