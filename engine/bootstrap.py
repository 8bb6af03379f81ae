"""The one place that wires real implementations together: database, clock, hasher, renderer, sealer.

Everything else receives what it needs; nothing reaches for a global. Tests build the same object with a fake
clock and a cheap hash cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from definitions.vocabulary import standard_vocabulary
from engine.advance import AdvanceEnrollment, Advancer, EnrollmentAdvanced
from engine.channels import ChannelAdapter, FolderChannel
from engine.clock import Clock, SystemClock
from engine.context import Services
from engine.credentials import HashCost, SecretHasher
from engine.delivery import DeliveryWorker
from engine.enrollments import CompleteStep, EnrollmentStarted, StartEnrollment, complete_step, start_enrollment
from engine.intake import EventIntake, IntakeEvent, IntakeResult
from engine.machines import MachineCache
from engine.portal import PresentPin, present_link, present_pin
from engine.rendering import TemplateRenderer
from engine.sealing import FernetSealer, key_from_file
from engine.storage.database import make_engine, reading
from engine.storage.migrations import upgrade
from engine.sweep import Sweeper
from engine.workflows import WorkflowCatalog

# A reserved, undeliverable domain: fine for the mail folder; set PORTALFLOW_MAIL_FROM (or a site's from_address)
# before sending over SMTP.
DEFAULT_SENDER = "PortalFlow <portal@portalflow.invalid>"


@dataclass
class PortalFlow:
    """The engine's front door: commands in, events out."""

    db: Engine
    services: Services
    catalog: WorkflowCatalog
    advancer: Advancer
    sweeper: Sweeper
    delivery: DeliveryWorker
    intake: EventIntake

    @property
    def reader(self) -> Engine:
        """The database for reads only: on SQLite they neither wait for nor hold up writers."""
        return reading(self.db)

    def start(self, command: StartEnrollment) -> EnrollmentStarted:
        return start_enrollment(self.db, self.services, self.catalog, command)

    def advance(self, command: AdvanceEnrollment) -> EnrollmentAdvanced:
        return self.advancer(command)

    def complete_step(self, command: CompleteStep) -> int:
        return complete_step(self.db, self.services, self.catalog, command)

    def present_pin(self, command: PresentPin) -> EnrollmentAdvanced:
        return present_pin(self.advancer, command)

    def present_link(self, token: str, trigger: str | None = None) -> EnrollmentAdvanced:
        return present_link(self.advancer, token, trigger)

    def receive(self, event: IntakeEvent) -> IntakeResult:
        return self.intake(event)


def folder_channels(folder: Path, clock: Clock) -> dict[str, ChannelAdapter]:
    """The embedded default: every channel writes .eml files under `folder`, so a newcomer sees every message."""
    return {channel: FolderChannel(folder, channel, clock=clock) for channel in ("email", "secure_message", "letter")}


def build(database_url: str, workflows_dir: Path, *, clock: Clock | None = None, hash_cost: HashCost | None = None,
          secret_key: bytes | None = None, key_file: Path | None = None, db: Engine | None = None,
          channels: Mapping[str, ChannelAdapter] | None = None, mail_folder: Path | None = None,
          default_sender: str = DEFAULT_SENDER, skip_invalid_workflows: bool = False) -> PortalFlow:
    clock = clock or SystemClock()
    engine = db or make_engine(database_url)
    upgrade(engine)
    vocabulary = standard_vocabulary()
    catalog = WorkflowCatalog.from_folder(workflows_dir, vocabulary, skip_invalid=skip_invalid_workflows)
    catalog.publish(engine, clock)
    key = secret_key or key_from_file(key_file or Path("var") / "outbox.key")
    services = Services(clock=clock, hasher=SecretHasher(hash_cost), renderer=TemplateRenderer(
        workflows_dir / "templates"), sealer=FernetSealer(key), vocabulary=vocabulary)
    advancer = Advancer(engine, services, catalog, MachineCache())
    adapters = channels or folder_channels(mail_folder or Path("var") / "mail", clock)
    delivery = DeliveryWorker(engine, clock, services.sealer, adapters, default_sender=default_sender)
    return PortalFlow(engine, services, catalog, advancer, Sweeper(engine, advancer, catalog, clock), delivery,
                      EventIntake(engine, advancer, catalog))
