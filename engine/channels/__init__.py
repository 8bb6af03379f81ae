"""Channel adapters: how a queued message leaves PortalFlow (SMTP, or files in a folder), and how each one
reports a failure to the outbox worker (temporary, permanent, or unknown outcome)."""

from engine.channels.base import (
    ChannelAdapter,
    ChannelError,
    OutgoingMessage,
    PermanentFailure,
    TemporaryFailure,
    UnknownOutcome,
)
from engine.channels.folder import FolderChannel
from engine.channels.smtp import SmtpChannel, SmtpSettings

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
