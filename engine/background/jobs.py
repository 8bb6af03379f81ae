"""Background work in every PortalFlow process: one APScheduler interval job that sweeps timers and sends mail.

One in-memory job per process (`max_instances=1`: a slow round is never overlapped by the next; `coalesce=True`:
rounds missed while busy collapse into one). No persistent APScheduler job store: APScheduler 3.x cannot share
one between processes. The durable state is in PortalFlow's own tables; the database claims (`engine.background.sweep`,
`engine.messaging.delivery`) make several processes running this job at once fire each timer and send each message once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from engine.background.sweep import Sweeper
from engine.messaging.delivery import DeliveryWorker

log = logging.getLogger("portalflow.background")


def one_round(sweeper: Sweeper, delivery: DeliveryWorker) -> str:
    """Fire what is due, then send what may go. Returns a one-line summary (counts only, never content)."""
    swept = sweeper.sweep()
    sent = delivery.deliver()
    return f"timers: {swept}; messages: {sent}"


class BackgroundJobs:
    def __init__(self, work: Callable[[], str], interval_seconds: float) -> None:
        self._work = work
        self._scheduler = BackgroundScheduler(timezone="UTC")
        self.interval_seconds = interval_seconds

    def _run(self) -> None:
        try:
            summary = self._work()
        except Exception:  # the next round tries again; the log says what broke (no message content is logged)
            log.exception("background round failed")
            return
        log.info("background round: %s", summary)  # counts only: what an operator watches

    def start(self, *, run_now: bool = True) -> None:
        """Start the interval job; `run_now` runs a first round at once (timers that fell due while down).

        The wall clock here only paces the rounds; what is due is decided by the engine's own clock.
        """
        first = datetime.now(UTC) if run_now else None
        self._scheduler.add_job(self._run, "interval", seconds=self.interval_seconds, id="portalflow-round",
                                max_instances=1, coalesce=True, **({"next_run_time": first} if first else {}))
        self._scheduler.start()

    def shutdown(self) -> None:
        self._scheduler.shutdown(wait=True)
