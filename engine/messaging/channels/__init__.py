"""Channel adapters: how a queued message leaves PortalFlow (SMTP, or files in a folder), and how each one
reports a failure to the outbox worker (temporary, permanent, or unknown outcome)."""

from engine.messaging.channels.base import (
    ChannelAdapter,
    ChannelError,
    OutgoingMessage,
    PermanentFailure,
    TemporaryFailure,
    UnknownOutcome,
)
from engine.messaging.channels.folder import FolderChannel
from engine.messaging.channels.smtp import SmtpChannel, SmtpSettings

__all__ = [
    "ChannelAdapter",
    "ChannelError",
    "FolderChannel",
    "OutgoingMessage",
    "PermanentFailure",
    "SmtpChannel",
    "SmtpSettings",
    "TemporaryFailure",
    "UnknownOutcome",
]
