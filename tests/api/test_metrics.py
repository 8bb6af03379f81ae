"""`/metrics`: request figures by route template, and figures read from the database that match it."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from api.observability.metrics import TransitionWatch

PIN_WORKFLOW = "nextgen-regenerate-expired-pin"


def scrape(api: Any, user: str = "audrey") -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = api.client.get("/metrics", headers=api.as_(user))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {(sample.name, tuple(sorted((k, v) for k, v in sample.labels.items() if k != "worker"))): sample.value
            for family in text_string_to_metric_families(answer.text) for sample in family.samples}


def test_an_anonymous_or_staff_scrape_is_refused_and_an_admin_or_auditor_one_answered(api: Any) -> None:
    assert api.client.get("/metrics").status_code == 401
    assert api.client.get("/metrics", headers=api.as_("ana")).status_code == 403
    assert api.client.get("/metrics", headers=api.as_("root")).status_code == 200
    assert api.client.get("/metrics", headers=api.as_("audrey")).status_code == 200


def test_requests_are_counted_by_route_template_never_by_raw_path(api: Any) -> None:
    for _ in range(3):
        api.client.get("/patients/p-jane", headers=api.as_("ana"))
    figures = scrape(api)
    key = (("method", "GET"), ("route", "/patients/{patient_id}"), ("status", "200"))
    assert figures[("portalflow_http_requests_total", key)] == 3
    assert figures[("portalflow_http_request_duration_seconds_count", key[:2])] == 3
    assert not any("p-jane" in str(labels) for _, labels in figures)


def test_advances_and_refusals_are_counted_per_workflow(api: Any) -> None:
    before = scrape(api)
    for patient, status in (("p-jane", 200), ("p-noemail", 422)):  # Nora has no email: the guard refuses
        started = api.client.post("/enrollments", headers=api.as_("ana"),
                                  json={"workflow_id": PIN_WORKFLOW, "patient_id": patient}).json()
        fired = api.client.post(f"/enrollments/{started['enrollment_id']}/triggers/generate_pin",
                                headers=api.as_("ana"), json={})
        assert fired.status_code == status, fired.text
    after = scrape(api)
    for outcome in ("ok", "refused"):
        key = ("portalflow_transitions_total", (("outcome", outcome), ("workflow", PIN_WORKFLOW)))
        assert after[key] == before.get(key, 0) + 1, outcome


def test_timer_and_outbox_gauges_match_the_database(api: Any, flow: Any, clock: Any) -> None:
    started = api.client.post("/enrollments", headers=api.as_("ana"),
                              json={"workflow_id": PIN_WORKFLOW, "patient_id": "p-jane"}).json()
    api.client.post(f"/enrollments/{started['enrollment_id']}/triggers/generate_pin", headers=api.as_("ana"), json={})
    clock.advance(timedelta(days=31))  # the PIN's expiry timer is now a day overdue
    figures = scrape(api)
    with flow.db.connect() as conn:
        now = clock.now().replace(tzinfo=None)
        due = conn.execute(text("SELECT count(*), min(due_at) FROM timers WHERE status = 'pending' AND due_at <= :now"),
                           {"now": now}).one()
        queued = conn.execute(text("SELECT count(*) FROM outbox WHERE status = 'queued'")).scalar_one()
    assert due[0] >= 1
    assert figures[("portalflow_timers_due", ())] == due[0]
    assert figures[("portalflow_timers_overdue", ())] == due[0]
    oldest = due[1] if isinstance(due[1], datetime) else datetime.fromisoformat(due[1])  # SQLite: text
    lag = clock.now() - (oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC))
    assert figures[("portalflow_sweep_lag_seconds", ())] == lag.total_seconds()
    assert figures[("portalflow_outbox_messages", (("status", "queued"),))] == queued
    assert figures[("portalflow_database_up", ())] == 1
    assert figures[("portalflow_workflows", (("state", "loaded"),))] == len(flow.catalog.all())


def test_the_audit_verification_result_shows_once_it_has_run(api: Any) -> None:
    scrape(api)  # starts the verification in the background
    api.client.app.state.metrics.database.audit.wait(timeout=60)
    figures = scrape(api)
    assert figures[("portalflow_audit_verify_ok", ())] == 1
    assert figures[("portalflow_audit_verify_events", ())] >= 0


def test_without_a_shared_folder_each_request_figure_names_the_worker_that_counted_it(api: Any) -> None:
    api.client.get("/health")
    answer = api.client.get("/metrics", headers=api.as_("root"))
    workers = {sample.labels.get("worker") for family in text_string_to_metric_families(answer.text)
               for sample in family.samples if sample.name == "portalflow_http_requests_total"}
    assert workers == {str(os.getpid())}


def test_a_long_audit_backlog_is_tallied_in_steps_in_the_background_and_never_shown_as_a_partial_count(
        api: Any, flow: Any) -> None:
    for patient, status in (("p-jane", 200), ("p-noemail", 422)):
        started = api.client.post("/enrollments", headers=api.as_("ana"),
                                  json={"workflow_id": PIN_WORKFLOW, "patient_id": patient}).json()
        for _ in range(1 if status == 200 else 2):  # Nora has no email: refused twice
            fired = api.client.post(f"/enrollments/{started['enrollment_id']}/triggers/generate_pin",
                                    headers=api.as_("ana"), json={})
            assert fired.status_code == status, fired.text
    with flow.db.connect() as conn:
        expected = dict(conn.execute(text(
            "SELECT a.outcome, count(*) FROM audit_events a JOIN enrollments e ON e.id = a.enrollment_id "
            "WHERE a.action = 'transition' AND e.workflow_id = :w GROUP BY a.outcome"), {"w": PIN_WORKFLOW}).all())
        newest = conn.execute(text("SELECT max(id) FROM audit_events")).scalar_one()
    assert newest > 3
    database = api.client.app.state.metrics.database
    database.transitions = TransitionWatch(flow, step=2)  # as a fresh start on a trail longer than one step
    first = scrape(api)
    assert first[("portalflow_transitions_backlog", ())] == newest
    assert not any(name == "portalflow_transitions_total" for name, _ in first)
    database.transitions.wait(timeout=60)
    caught_up = scrape(api)
    assert caught_up[("portalflow_transitions_backlog", ())] == 0
    for outcome in ("ok", "refused"):
        key = ("portalflow_transitions_total", (("outcome", outcome), ("workflow", PIN_WORKFLOW)))
        assert caught_up[key] == expected[outcome], outcome
