"""The one place that wires real implementations together: database, clock, hasher, renderer, sealer, channels.

Everything else receives what it needs; nothing reaches for a global. Tests build the same object with a fake
clock and a cheap hash cost. Workflows run as published (`engine.versions.loading`): the folder's new versions are
published, and a file that cannot be taken is left out and logged — or, with `skip_invalid_workflows=False`
(simulations, tests), refused. With `publish_workflows=False` (the CLI's commands) the published versions run and
the folder is not looked at for new ones. The outbox key file is read (or made) only when a message is sealed or
opened; the PIN lookup key file beside it, only when a PIN is issued or presented; the audit anchor key beside
them when an anchor is sealed or checked, and the anchor log (`anchor_log`, by default beside them too; none when
`secret_key` is given, unless named).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import Engine

from definitions.errors import DefinitionInvalid
from definitions.vocabulary import standard_vocabulary
from engine.audit.keeping import ANCHOR_KEY_FILE, AnchorKeeper, anchor_log_for
from engine.background.sweep import Sweeper
from engine.clock import Clock, SystemClock
from engine.credentials.hashing import HashCost, SecretHasher
from engine.credentials.pin_lookup import PIN_KEY_FILE, KeyFilePinLookup, PinLookup, derived_lookup
from engine.enrollments.advance import Advancer
from engine.enrollments.intake import EventIntake
from engine.front_door.flow import PortalFlow
from engine.front_door.histories import Histories
from engine.front_door.imports import Imports
from engine.front_door.people import People
from engine.front_door.practice import Practice
from engine.front_door.users import Users
from engine.front_door.versions import Versions
from engine.front_door.worklists import Worklists
from engine.fsm.machines import MachineCache
from engine.fsm.services import Services
from engine.messaging.channels import ChannelAdapter, FolderChannel
from engine.messaging.delivery import DeliveryWorker
from engine.messaging.rendering import VersionRenderers
from engine.messaging.sealing import FernetSealer, KeyFileSealer, Sealer
from engine.storage.database import is_sqlite, make_engine
from engine.storage.group_commit import GroupCommit
from engine.storage.migrations import require_current, upgrade
from engine.versions.loading import load

# A reserved, undeliverable domain: fine for the mail folder; set PORTALFLOW_MAIL_FROM (or a site's from_address)
# before sending over SMTP.
DEFAULT_SENDER = "PortalFlow <portal@portalflow.invalid>"

log = logging.getLogger("portalflow.workflows")


def folder_channels(folder: Path, clock: Clock) -> dict[str, ChannelAdapter]:
    """The embedded default: every channel writes .eml files under `folder`, so a newcomer sees every message."""
    return {channel: FolderChannel(folder, channel, clock=clock) for channel in ("email", "secure_message", "letter")}


def build(database_url: str, workflows_dir: Path | None, *, clock: Clock | None = None,
          hash_cost: HashCost | None = None, secret_key: bytes | None = None, key_file: Path | None = None,
          db: Engine | None = None, channels: Mapping[str, ChannelAdapter] | None = None,
          mail_folder: Path | None = None, default_sender: str = DEFAULT_SENDER,
          skip_invalid_workflows: bool = False, publish_workflows: bool = True,
          anchor_log: Path | None = None, migrate: bool = True) -> PortalFlow:
    clock = clock or SystemClock()
    engine = db or make_engine(database_url)
    if migrate:
        upgrade(engine)
    else:  # the schema is upgraded apart, by its owner role (`portalflow db upgrade`): an old one is refused plainly
        require_current(engine)
    vocabulary = standard_vocabulary()
    catalog, check = load(engine, workflows_dir, vocabulary, clock.now(), publish_new=publish_workflows)
    if check.problems and not skip_invalid_workflows:
        raise DefinitionInvalid(check.problems)
    for left_out in catalog.left_out:  # the service goes on without them; /health names them too
        log.warning("workflow left out: %s", "; ".join(left_out.problems))
    key_path = key_file or Path("var") / "outbox.key"
    sealer: Sealer = FernetSealer(secret_key) if secret_key else KeyFileSealer(key_path)
    pin_lookup: PinLookup = (derived_lookup(secret_key) if secret_key
                             else KeyFilePinLookup(key_path.with_name(PIN_KEY_FILE)))
    keeper = (AnchorKeeper.derived(secret_key, anchor_log) if secret_key else AnchorKeeper.with_key_file(
        key_path.with_name(ANCHOR_KEY_FILE), anchor_log or anchor_log_for(engine, key_path.parent)))
    renderer = VersionRenderers()
    hasher = SecretHasher(hash_cost)
    services = Services(clock=clock, hasher=hasher, renderer=renderer, sealer=sealer, vocabulary=vocabulary,
                        pin_lookup=pin_lookup)
    group = GroupCommit(engine) if is_sqlite(str(engine.url)) else None  # one flush for concurrent advances
    advancer = Advancer(engine, services, catalog, MachineCache(), group)
    adapters = channels or folder_channels(mail_folder or Path("var") / "mail", clock)
    delivery = DeliveryWorker(engine, clock, sealer, adapters, default_sender=default_sender)
    intake = EventIntake(engine, advancer, catalog)
    return PortalFlow(
        db=engine, services=services, catalog=catalog, advancer=advancer,
        sweeper=Sweeper(engine, advancer, catalog, clock), delivery=delivery, intake=intake,
        people=People(engine, clock, catalog, intake), practice=Practice(engine, clock, catalog),
        users=Users(engine, clock, hasher), histories=Histories(engine, clock, keeper),
        worklists=Worklists(engine, clock, catalog), imports=Imports(engine, clock, intake),
        versions=Versions(engine, clock, catalog, vocabulary, workflows_dir))
