"""Build the engine from settings: shared by `portalflow serve`, `portalflow worker` and every other command."""

from __future__ import annotations

from api.settings import Settings
from engine.bootstrap import build, folder_channels
from engine.clock import SystemClock
from engine.front_door.flow import PortalFlow
from engine.messaging.channels import ChannelAdapter, SmtpChannel


def build_flow(settings: Settings, *, workflows: bool = True) -> PortalFlow:
    """The service's flow; `workflows=False` for commands that only run what is published (the folder's new
    versions are not published)."""
    clock = SystemClock()
    channels: dict[str, ChannelAdapter] = folder_channels(settings.mail_folder, clock)
    if settings.smtp is not None:
        channels["email"] = SmtpChannel(settings.smtp, clock=clock)
    return build(settings.database_url, settings.workflows_dir, clock=clock, channels=channels,
                 default_sender=settings.mail_from, skip_invalid_workflows=True, publish_workflows=workflows,
                 key_file=settings.key_file, migrate=settings.migrate)
