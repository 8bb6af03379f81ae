"""What every channel adapter shares: the message handed over, the adapter Protocol, the failure family, and
the one builder that turns a message into an RFC 5322 email.

The outbox worker records "sending" before it calls `ChannelAdapter.send` and "sent" after, so a failure must
say precisely what happened: `TemporaryFailure` (not delivered, retry later), `PermanentFailure` (not
delivered, retrying won't help) or `UnknownOutcome` (may have been delivered; a person should look before
anything is re-sent). A message body carries PINs and links, so no failure text ever includes it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime, getaddresses, parseaddr
from typing import Protocol

from definitions.errors import RuntimeFailure
from engine.clock import Clock

EMAIL = "email"
CHANNELS = frozenset({EMAIL, "secure_message", "letter"})

# The reference becomes a file name and a Message-ID local part, so only characters safe in both are allowed.
_SAFE_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_DOMAIN_FALLBACK = "portalflow.invalid"


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One queued message, final text included. `body` holds secrets: never log it or put it in an error."""

    message_ref: str  # e.g. "outbox-42": the Message-ID local part and the file name; no secrets
    channel: str  # "email" | "secure_message" | "letter"
    recipient: str | None  # an email address for email; a patient/household id for secure_message; None for letter
    subject: str | None
    body: str
    sender: str  # the From address, e.g. "Main Street Practice <portal@practice.example>"
    html: str | None = None  # an HTML alternative of `body` (email only); holds the same secrets


class ChannelAdapter(Protocol):
    def send(self, message: OutgoingMessage) -> str:
        """Deliver one message and return a reference for the record (a Message-ID, a file path).

        Raises `TemporaryFailure`, `PermanentFailure` or `UnknownOutcome`, and nothing else on purpose.
        """
        ...


class ChannelError(RuntimeFailure):
    """A message was not (or not surely) delivered. `detail` is a short sentence safe to store and show.

    `code` is the SMTP reply code when a server gave one, so the worker can tell e.g. a rejected login (535),
    which fails every message until the settings are fixed, from a rejected recipient.
    """

    def __init__(self, detail: str, *, code: int | None = None) -> None:
        self.detail = detail
        self.code = code
        super().__init__(detail)


class TemporaryFailure(ChannelError):
    """Definitely not delivered; worth trying again later."""


class PermanentFailure(ChannelError):
    """Definitely not delivered; trying again will not help."""


class UnknownOutcome(ChannelError):
    """The server may or may not have accepted the message: flag it for review, do not re-send blindly."""


def build_email(message: OutgoingMessage, clock: Clock) -> EmailMessage:
    """The RFC 5322 form of a message, as SMTP sends it and the folder channel stores it."""
    _check_ref(message.message_ref)
    email = EmailMessage()
    email["Message-ID"] = new_message_id(message.message_ref, message.sender)
    email["Date"] = format_datetime(clock.now())
    sender_address(message.sender)  # refuses a malformed From before anything is written or sent
    email["From"] = message.sender
    if message.channel == EMAIL:
        email["To"] = recipient_address(message)
    else:
        # Vendor channels address a patient or household by id, which is not an email address.
        email["X-PortalFlow-Channel"] = message.channel
        if message.recipient:
            email["X-PortalFlow-Recipient"] = _one_line(message.recipient)
    if message.subject:
        email["Subject"] = _one_line(message.subject)
    # Quoted-printable keeps the body 7-bit safe whatever the server supports, and survives long lines.
    email.set_content(message.body, subtype="plain", charset="utf-8", cte="quoted-printable")
    if message.html is not None:
        # multipart/alternative: a mail reader shows the HTML, or the plain text when it cannot.
        email.add_alternative(message.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return email


def as_bytes(email: EmailMessage, message: OutgoingMessage) -> bytes:
    """The email as RFC 5322 bytes with CRLF line ends, ready for DATA or for an .eml file."""
    return email.as_bytes(policy=SMTPUTF8 if needs_smtputf8(message) else SMTP)


def needs_smtputf8(message: OutgoingMessage) -> bool:
    """True when an address itself is not ASCII: only then must headers be raw UTF-8 (RFC 6531/6532)."""
    addresses = [sender_address(message.sender)]
    if message.channel == EMAIL:
        addresses.append(recipient_address(message))
    return not all(address.isascii() for address in addresses)


def new_message_id(message_ref: str, sender: str) -> str:
    """`<ref.random@sender-domain>`: the ref lets staff find it in mail logs, the random part keeps it unique."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or _DOMAIN_FALLBACK
    return f"<{message_ref}.{secrets.token_hex(8)}@{domain}>"


def sender_address(sender: str) -> str:
    """The bare address of the From line; a sender we cannot parse is a configuration error."""
    address = _single_address(sender)
    if address is None:
        raise PermanentFailure("the sender (From) address is not a valid email address")
    return address


def recipient_address(message: OutgoingMessage) -> str:
    """The bare recipient address of an email; empty, several or malformed addresses are refused."""
    if not message.recipient or not message.recipient.strip():
        raise PermanentFailure(f"message {message.message_ref} has no recipient address")
    address = _single_address(message.recipient)
    if address is None:
        raise PermanentFailure(f"message {message.message_ref} has an invalid recipient address")
    return address


def _single_address(text: str) -> str | None:
    if any(c in text for c in "\r\n\0"):
        return None
    pairs = getaddresses([text])
    if len(pairs) != 1:
        return None
    address = pairs[0][1]
    local, at, domain = address.rpartition("@")
    if not (local and at and domain) or any(c.isspace() for c in address) or "." not in domain:
        return None
    return address


def _check_ref(message_ref: str) -> None:
    if not _SAFE_REF.fullmatch(message_ref):
        raise PermanentFailure("the message reference must start with a letter or digit and use only letters, "
                               "digits, '.', '_' and '-' (at most 100)")


def _one_line(text: str) -> str:
    # A line break in a header would start a new header; a template's stray newline is folded into a space.
    return " ".join(text.split())
