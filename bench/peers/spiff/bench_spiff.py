#!/usr/bin/env python
# ruff: noqa: E401, I001, PT018  -- the peer benchmark as its author wrote it (shared/peers/spiff), unchanged
"""Peer benchmark: SpiffWorkflow stepping the patient-portal PIN procedure (pin_procedure.bpmn).

Process: start -> [user] Verify email on file -> [user] Choose encounter type and provider
         -> [script] Generate PIN -> [user] Sign document -> (none event) -> end "Pending Registration"

Rows (median over --runs timed runs, after one untimed warm-up run):
  create          BpmnWorkflow(spec), spec parsed once
  create+start    BpmnWorkflow(spec) + do_engine_steps()  (first user task READY)
  step persisted  deserialize_json -> complete next READY user task -> do_engine_steps -> serialize_json
  step in-memory  complete next READY user task -> do_engine_steps  (no JSON round trip)
A "step" is one completed user task; the script task and events run inside do_engine_steps.

Usage:  python bench_spiff.py [--runs 7] [--instances 1000]    (steps per run = 3 * instances)
"""
import argparse, os, platform, statistics, sys, time
from importlib.metadata import version

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser, BpmnValidator
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.util.task import TaskState

BPMN_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pin_procedure.bpmn")
FORMS = [  # data submitted with each user task, in process order
    {"email": "patient@example.org", "email_verified": True},
    {"encounter_type": "telehealth", "provider_id": "prov-042"},
    {"signature": "J. Doe", "signed": True},
]


def load_spec():
    parser = BpmnParser(validator=BpmnValidator())  # XSD-validates the file
    parser.add_bpmn_file(BPMN_FILE)
    return parser.get_spec("pin_procedure")


def new_instance(spec):
    wf = BpmnWorkflow(spec)
    wf.do_engine_steps()  # start event -> "Verify email on file" READY
    return wf


def complete_next(wf, form):
    task = wf.get_next_task(state=TaskState.READY, manual=True)
    task.data.update(form)
    task.run()
    wf.do_engine_steps()


def check_done(wf):
    assert wf.is_completed(), "workflow did not complete"
    assert wf.data["pin"] == "533967" and wf.data["signed"] is True, wf.data
    ends = [t for t in wf.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_name == "Pending Registration"]
    assert len(ends) == 1


def timed(fn, n_ops):
    t0 = time.perf_counter()
    fn()
    return n_ops / (time.perf_counter() - t0)


def bench_create(spec, ser, n):
    def run():
        for _ in range(n * len(FORMS)):  # same op count as the step rows
            BpmnWorkflow(spec)
    return timed(run, n * len(FORMS))


def bench_create_start(spec, ser, n):
    def run():
        for _ in range(n * len(FORMS)):
            new_instance(spec)
    return timed(run, n * len(FORMS))


def bench_step_persisted(spec, ser, n):
    states = [ser.serialize_json(new_instance(spec)) for _ in range(n)]  # untimed setup

    def run():
        for i, state in enumerate(states):
            for form in FORMS:
                wf = ser.deserialize_json(state)
                complete_next(wf, form)
                state = ser.serialize_json(wf)
            states[i] = state
    rate = timed(run, n * len(FORMS))
    check_done(ser.deserialize_json(states[-1]))
    return rate


def bench_step_inmemory(spec, ser, n):
    wfs = [new_instance(spec) for _ in range(n)]  # untimed setup

    def run():
        for wf in wfs:
            for form in FORMS:
                complete_next(wf, form)
    rate = timed(run, n * len(FORMS))
    check_done(wfs[-1])
    return rate


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--instances", type=int, default=1000, help="workflow instances per run (3 steps each)")
    args = ap.parse_args()

    spec, ser = load_spec(), BpmnWorkflowSerializer()
    wf = new_instance(spec)
    size0 = len(ser.serialize_json(wf))
    for form in FORMS:
        complete_next(wf, form)
    size3 = len(ser.serialize_json(wf))

    print(f"SpiffWorkflow {version('SpiffWorkflow')}, lxml {version('lxml')}, "
          f"Python {platform.python_version()} ({platform.python_implementation()}), "
          f"{platform.machine()}, {os.cpu_count()} CPUs, single thread")
    print(f"{args.runs} timed runs x {args.instances * len(FORMS)} ops (+1 warm-up run); "
          f"serialized JSON {size0} B at start, {size3} B when complete (spec embedded)\n")
    print(f"{'metric':<16} {'median ops/s':>13} {'min ops/s':>10} {'max ops/s':>10} {'us/op':>8}")
    rows = [("create", bench_create), ("create+start", bench_create_start),
            ("step persisted", bench_step_persisted), ("step in-memory", bench_step_inmemory)]
    for name, fn in rows:
        fn(spec, ser, max(1, args.instances // 5))  # warm-up
        rates = [fn(spec, ser, args.instances) for _ in range(args.runs)]
        med = statistics.median(rates)
        print(f"{name:<16} {med:>13,.0f} {min(rates):>10,.0f} {max(rates):>10,.0f} {1e6 / med:>8.1f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
