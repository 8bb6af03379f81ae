"""A real SMTP server on loopback (aiosmtpd) for the channel and delivery tests, and the handler tests steer."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field, replace
from typing import Any

from aiosmtpd import smtp as aiosmtp
from aiosmtpd.smtp import Envelope, Session

from engine.messaging.channels import SmtpSettings

HOST = "127.0.0.1"


@dataclass
class Mailbox:
    """The server's handler: keeps what it accepted, counts every whole message it was handed (accepted or not),
    and misbehaves when a test says so. Tests may change the misbehaviour while the server runs."""

    received: list[Envelope] = field(default_factory=list)
    handed_over: int = 0  # times the final "." of a message arrived
    rcpt_reply: str | None = None
    data_reply: str | None = None
    stall_at_rcpt: float = 0.0
    stall_after_dot: float = 0.0
    hang_up_after_dot: bool = False

    # aiosmtpd finds its hooks by these exact names, hence the upper case.
    async def handle_RCPT(  # noqa: N802
            self, server: aiosmtp.SMTP, session: Session, envelope: Envelope, address: str,
            rcpt_options: list[str]) -> str:
        await asyncio.sleep(self.stall_at_rcpt)
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
            self, server: aiosmtp.SMTP, session: Session, envelope: Envelope) -> str:
        # This hook runs once the final "." has arrived: from here on the client cannot know what we did.
        self.handed_over += 1
        if self.hang_up_after_dot:
            assert server.transport is not None
            server.transport.close()
            return "250 never heard"
        await asyncio.sleep(self.stall_after_dot)
        if self.data_reply:
            return self.data_reply
        self.received.append(envelope)
        return "250 Message accepted for delivery"


@dataclass(frozen=True)
class Server:
    mailbox: Mailbox
    port: int

    def settings(self, **changes: Any) -> SmtpSettings:
        return replace(SmtpSettings(HOST, self.port, "none", timeout=2.0), **changes)


def free_port() -> int:
    # Not every aiosmtpd version accepts port 0, so ask the kernel for a free port and hand it over.
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port
