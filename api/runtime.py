"""Build the engine and its background job from settings: shared by `portalflow serve` and `portalflow worker`."""

from __future__ import annotations

from api.settings import Settings
from engine.background import BackgroundJobs, one_round
from engine.bootstrap import PortalFlow, build, folder_channels
from engine.channels import ChannelAdapter, SmtpChannel
from engine.clock import SystemClock


def build_flow(settings: Settings) -> PortalFlow:
    clock = SystemClock()
    channels: dict[str, ChannelAdapter] = folder_channels(settings.mail_folder, clock)
    if settings.smtp is not None:
        channels["email"] = SmtpChannel(settings.smtp, clock=clock)
    return build(settings.database_url, settings.workflows_dir, clock=clock, channels=channels,
                 default_sender=settings.mail_from, skip_invalid_workflows=True)


def background_jobs(flow: PortalFlow, settings: Settings) -> BackgroundJobs:
    return BackgroundJobs(lambda: one_round(flow.sweeper, flow.delivery), settings.sweep_seconds)
