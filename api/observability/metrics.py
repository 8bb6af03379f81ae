"""`/metrics` in Prometheus's text format, for an admin or auditor token (Prometheus's `authorization`).

Two kinds of figures:
- request counts and latency by route template (`/enrollments/{enrollment_id}`, never the raw path), counted in
  each process. Without `PROMETHEUS_MULTIPROC_DIR` each carries a `worker` label (the process id) and a scrape
  sees the worker that answered it; with it set (an empty folder, before `serve --workers N` starts), every
  worker's counts are added up through prometheus-client's multiprocess mode and there is no `worker` label;
- figures read from the database at the scrape, the same whichever worker answers: timers due and overdue, the
  sweep's lag (the oldest due timer's age), the outbox per open status, transitions per workflow and outcome
  (all time, from the audit trail), workflows loaded and left out, and the last audit verification's result
  (run in a thread at most once an hour per process, so a scrape never waits for it). The transitions are tallied
  from the rows added since the last scrape; a long backlog (the first scrape after a start on a big trail) is
  caught up in a thread instead, and until it is done the scrape shows the backlog rather than a partial count.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from api.deps import Auditor, Flow
from engine.audit.verify import VerifyReport
from engine.front_door.flow import PortalFlow
from engine.views.operations import TransitionTally

VERIFY_EVERY_SECONDS = 3600.0
TALLY_STEP = 100_000  # audit rows a scrape tallies itself (well under a second); more are caught up in a thread
log = logging.getLogger("portalflow.metrics")


class AuditWatch:
    """The last audit verification this process ran, and a thread to run the next when the last is stale."""

    def __init__(self, flow: PortalFlow, every_seconds: float = VERIFY_EVERY_SECONDS) -> None:
        self._flow, self._every = flow, every_seconds
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.report: VerifyReport | None = None
        self.finished_at: float | None = None  # Unix time

    def refresh_if_stale(self) -> None:
        with self._lock:
            running = self._thread is not None and self._thread.is_alive()
            fresh = self.finished_at is not None and time.time() - self.finished_at < self._every
            if running or fresh:
                return
            self._thread = threading.Thread(target=self._verify, name="portalflow-metrics-verify", daemon=True)
            self._thread.start()

    def wait(self, timeout: float) -> None:
        """For tests and shutdown: let a verification under way finish."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _verify(self) -> None:
        try:
            report = self._flow.histories.verify()
        except Exception:  # shown as a missing result; the next stale scrape tries again
            log.exception("audit verification for metrics failed")
            report = None
        self.report, self.finished_at = report, time.time()


class TransitionWatch:
    """The transitions tally, kept current at each scrape when few rows were added since the last one."""

    def __init__(self, flow: PortalFlow, step: int = TALLY_STEP) -> None:
        self._flow, self._step = flow, step
        self._lock = threading.Lock()  # two scrapes at once must not add the same rows twice
        self._thread: threading.Thread | None = None
        self._tally = TransitionTally()

    def current(self) -> tuple[TransitionTally | None, int]:
        """The tally up to the newest audit row, or None while a long backlog is caught up; and the backlog."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return None, max(self._flow.worklists.newest_audit_id() - self._tally.mark, 0)
            backlog = self._flow.worklists.newest_audit_id() - self._tally.mark
            if backlog <= self._step:
                self._tally = self._flow.worklists.tally_transitions(self._tally)
                return self._tally, 0
            self._thread = threading.Thread(target=self._catch_up, args=(self._tally,),
                                            name="portalflow-metrics-tally", daemon=True)
            self._thread.start()
            return None, backlog

    def wait(self, timeout: float) -> None:
        """For tests and shutdown: let a catch-up under way finish."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _catch_up(self, tally: TransitionTally) -> None:
        """Step by step, `step` audit rows at a time, so no single read holds the database long."""
        try:
            while (further := self._flow.worklists.tally_transitions(tally, self._step)).mark > tally.mark:
                tally = further
                self._tally = tally  # scrapes do not read it while this thread runs; kept for a failure midway
        except Exception:  # the next scrape starts again from where this one got to
            log.exception("metrics: tallying the transitions failed")


class DatabaseFigures(Collector):
    """Gauges and counters read from the database at each scrape."""

    def __init__(self, flow: PortalFlow, overdue_after: timedelta) -> None:
        self._flow, self._overdue_after = flow, overdue_after
        self.transitions = TransitionWatch(flow)
        self.audit = AuditWatch(flow)

    def collect(self) -> Iterator[Metric]:
        self.audit.refresh_if_stale()
        yield from self._workflows()
        yield from self._audit()
        try:
            counts = self._flow.worklists.operation_counts(self._overdue_after)
            tally, backlog = self.transitions.current()
        except Exception:  # the scrape still answers, and says the database did not
            log.exception("metrics: the database did not answer")
            yield GaugeMetricFamily("portalflow_database_up", "1 when the database answered this scrape", value=0)
            return
        yield GaugeMetricFamily("portalflow_database_up", "1 when the database answered this scrape", value=1)
        now = self._flow.worklists.clock.now()
        lag = (now - counts.oldest_due_at).total_seconds() if counts.oldest_due_at else 0.0
        yield GaugeMetricFamily("portalflow_timers_due", "Pending timers whose moment has come",
                                value=counts.timers_due)
        yield GaugeMetricFamily("portalflow_timers_overdue",
                                f"Pending timers due for more than {self._overdue_after.total_seconds():g} s "
                                "(the sweep should have fired them)", value=counts.timers_overdue)
        yield GaugeMetricFamily("portalflow_sweep_lag_seconds", "Age of the oldest due timer (0 when none is due)",
                                value=max(lag, 0.0))
        outbox = GaugeMetricFamily("portalflow_outbox_messages",
                                   "Messages in the outbox per open status (queued and sending: its depth; "
                                   "failed, held, review: a person must look)", labels=["status"])
        for status, count in counts.outbox.items():
            outbox.add_metric([status], count)
        yield outbox
        yield GaugeMetricFamily("portalflow_transitions_backlog",
                                "Audit rows not yet tallied into portalflow_transitions (0 once caught up)",
                                value=backlog)
        if tally is None:
            return  # still catching up: no partial count that would later jump
        transitions = CounterMetricFamily("portalflow_transitions",
                                          "Transitions recorded in the audit trail (ok: advanced; refused)",
                                          labels=["workflow", "outcome"])
        for (workflow, outcome), count in sorted(tally.counts.items()):
            transitions.add_metric([workflow, outcome], count)
        yield transitions

    def _workflows(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("portalflow_workflows", "Workflow versions running, and files left out",
                                   labels=["state"])
        family.add_metric(["loaded"], len(self._flow.catalog.all()))
        family.add_metric(["left_out"], len(self._flow.catalog.left_out))
        yield family

    def _audit(self) -> Iterator[Metric]:
        report, at = self.audit.report, self.audit.finished_at
        if report is None or at is None:
            return  # none finished yet: no figure rather than a made-up one
        yield GaugeMetricFamily("portalflow_audit_verify_ok", "1 when the last audit verification found no problem",
                                value=1 if report.ok else 0)
        yield GaugeMetricFamily("portalflow_audit_verify_events", "Audit rows the last verification checked",
                                value=report.events_checked)
        yield GaugeMetricFamily("portalflow_audit_verify_timestamp_seconds", "When the last verification ended",
                                value=at)


class ServiceMetrics:
    """This app's metrics: the request figures it counts and the database figures it reads at a scrape."""

    def __init__(self, flow: PortalFlow, overdue_after: timedelta) -> None:
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry()  # one per app: no global state between apps (tests build many)
        self._worker = {} if self.multiprocess else {"worker": str(os.getpid())}
        labels = ["method", "route", "status", *self._worker]
        self.requests = Counter("portalflow_http_requests", "HTTP answers by route template and status", labels,
                                registry=self.registry)
        self.latency = Histogram("portalflow_http_request_duration_seconds", "Time to answer, by route template",
                                 ["method", "route", *self._worker], registry=self.registry)
        self.database = DatabaseFigures(flow, overdue_after)
        self.registry.register(self.database)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method=method, route=route, status=str(status), **self._worker).inc()
        self.latency.labels(method=method, route=route, **self._worker).observe(seconds)

    def exposition(self) -> bytes:
        if not self.multiprocess:
            return generate_latest(self.registry)
        registry = CollectorRegistry()  # every worker's request figures from the shared folder, plus the database's
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # prometheus-client leaves it untyped
        registry.register(self.database)
        return generate_latest(registry)


def install(app: FastAPI, flow: PortalFlow, sweep_seconds: float) -> ServiceMetrics:
    """Add `/metrics`; a timer is overdue once due for two background rounds (at least a minute)."""
    metrics = ServiceMetrics(flow, timedelta(seconds=max(2 * sweep_seconds, 60.0)))
    app.state.metrics = metrics

    @app.get("/metrics", include_in_schema=False)
    def scrape(_: Auditor, __: Flow) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return metrics
