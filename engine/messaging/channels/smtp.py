"""Email delivery over SMTP, with every failure classified for the outbox worker.

The conversation is driven step by step (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA) instead of `send_message`,
because the one thing the worker cannot recover from is a wrong guess about whether the server took the message:
anything that goes wrong before the final "." of DATA is on the wire means "not delivered", whereas a lost
connection or a timeout while waiting for the answer to that dot means "maybe delivered" (`UnknownOutcome`).
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Literal

from engine.clock import Clock, SystemClock
from engine.messaging.channels.base import (
    EMAIL,
    ChannelError,
    OutgoingMessage,
    PermanentFailure,
    TemporaryFailure,
    UnknownOutcome,
    as_bytes,
    build_email,
    needs_smtputf8,
    recipient_address,
    sender_address,
)

Security = Literal["none", "starttls", "tls"]
_SECURITY: frozenset[str] = frozenset({"none", "starttls", "tls"})
_REPLY_TEXT_LIMIT = 200  # a server's explanation is kept for the record, but not at any length


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where and how to reach the mail server.

    With `security="none"` a username and password travel in clear: use that only with a relay on this host.
    """

    host: str
    port: int
    security: Security = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0  # seconds, for each network step
    local_hostname: str | None = None  # the name given in EHLO; smtplib uses this machine's FQDN without it

    def __post_init__(self) -> None:
        if self.security not in _SECURITY:
            raise ValueError(f"SMTP security must be one of {sorted(_SECURITY)}, not {self.security!r}")
        if (self.username is None) != (self.password is None):
            raise ValueError("SMTP username and password go together: give both or neither")
        if self.timeout <= 0:
            raise ValueError("SMTP timeout must be a positive number of seconds")

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class SmtpChannel:
    """A `ChannelAdapter` for email: one connection per message, closed whatever happens."""

    def __init__(self, settings: SmtpSettings, *, ssl_context: ssl.SSLContext | None = None,
                 clock: Clock | None = None) -> None:
        self._settings = settings
        # Certificates are checked against the system's trust store unless a test or deployment passes its own.
        self._tls = ssl_context or (ssl.create_default_context() if settings.security != "none" else None)
        self._clock = clock or SystemClock()

    def send(self, message: OutgoingMessage) -> str:
        if message.channel != EMAIL:
            raise PermanentFailure(f"the SMTP channel sends email only, not {message.channel!r} messages")
        email = build_email(message, self._clock)
        message_id = str(email["Message-ID"])
        sender, recipient = sender_address(message.sender), recipient_address(message)
        international = needs_smtputf8(message)
        content = as_bytes(email, message)
        conn = self._connect()
        try:
            self._open_session(conn)
            self._envelope(conn, sender, recipient, international)
            self._data(conn, content, message_id)
        finally:
            _close_quietly(conn)
        return message_id

    def _connect(self) -> smtplib.SMTP:
        s = self._settings
        with self._not_sent("connecting"):
            if s.security == "tls":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, local_hostname=s.local_hostname,
                                                      timeout=s.timeout, context=self._tls)
            else:
                conn = smtplib.SMTP(s.host, s.port, local_hostname=s.local_hostname, timeout=s.timeout)
        return conn

    def _open_session(self, conn: smtplib.SMTP) -> None:
        s = self._settings
        with self._not_sent("EHLO"):
            conn.ehlo_or_helo_if_needed()
        if s.security == "starttls":
            # No fallback to plain text: a server that stops offering STARTTLS may be under attack.
            with self._not_sent("STARTTLS"):
                conn.starttls(context=self._tls)
                conn.ehlo_or_helo_if_needed()
        if s.username is not None:
            with self._not_sent("AUTH"):
                conn.login(s.username, s.password or "")

    def _envelope(self, conn: smtplib.SMTP, sender: str, recipient: str, international: bool) -> None:
        if international and not conn.has_extn("smtputf8"):
            raise PermanentFailure(f"{self._settings.address} cannot take non-ASCII addresses (no SMTPUTF8)")
        with self._not_sent("MAIL FROM"):
            code, text = conn.mail(sender, ["SMTPUTF8"] if international else [])
            self._expect(code, text, "MAIL FROM")
        with self._not_sent("RCPT TO"):
            code, text = conn.rcpt(recipient)
            self._expect(code, text, "RCPT TO")

    def _data(self, conn: smtplib.SMTP, content: bytes, message_id: str) -> None:
        with self._not_sent("DATA"):
            conn.putcmd("data")
            code, text = conn.getreply()
            if code != 354:  # "start mail input" is the only go-ahead
                raise self._refused(code, text, "DATA")
            conn.send(_dot_stuffed(content) + b".\r\n")
        # From here the server may hold the whole message: a lost answer is not a failure we can vouch for.
        try:
            code, text = conn.getreply()
        except OSError as exc:  # smtplib's errors are OSErrors too, timeouts and disconnects included
            raise UnknownOutcome(f"no answer from {self._settings.address} after the whole message {message_id} "
                                 f"was sent ({_reason(exc)}); it may have been delivered") from exc
        if 200 <= code < 300:
            return
        if 400 <= code < 600:
            raise self._refused(code, text, "the message data")
        raise UnknownOutcome(f"{self._settings.address} answered the message {message_id} with an unreadable reply "
                             f"({code} {_text(text)}); it may have been delivered", code=code)

    def _expect(self, code: int, text: bytes, step: str) -> None:
        if not 200 <= code < 300:
            raise self._refused(code, text, step)

    def _refused(self, code: int, text: bytes | str, step: str) -> ChannelError:
        detail = f"{self._settings.address} answered {code} {_text(text)} to {step}"
        if 500 <= code < 600:
            return PermanentFailure(detail, code=code)
        # 4xx asks us to come back later; any other code before the dot still means nothing was accepted.
        return TemporaryFailure(detail, code=code)

    @contextmanager
    def _not_sent(self, step: str) -> Iterator[None]:
        """Turn a server refusal or a network error in a step before the final dot into a classified failure."""
        try:
            yield
        except smtplib.SMTPResponseException as exc:
            raise self._refused(exc.smtp_code, exc.smtp_error, step) from exc
        except OSError as exc:  # refused, unreachable, timed out, disconnected, TLS trouble, STARTTLS missing
            raise TemporaryFailure(f"{step} with {self._settings.address} failed before the message was sent: "
                                   f"{_reason(exc)}") from exc


def _dot_stuffed(content: bytes) -> bytes:
    """The DATA payload: a line starting with "." gets a second one (RFC 5321 4.5.2), ending in CRLF."""
    stuffed = re.sub(rb"(?m)^\.", b"..", content)
    return stuffed if stuffed.endswith(b"\r\n") else stuffed + b"\r\n"


def _close_quietly(conn: smtplib.SMTP) -> None:
    # The outcome is already decided; a failing goodbye must not replace it.
    with suppress(Exception):
        conn.quit()
    with suppress(Exception):
        conn.close()


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())[:_REPLY_TEXT_LIMIT]


def _reason(exc: BaseException) -> str:
    return _text(str(exc)) or type(exc).__name__
