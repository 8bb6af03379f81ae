"""The peer's "step persisted" row on demand, so `python -m bench --spiff` can alternate it with PortalFlow's passes.

Runs in the peer's own virtual environment (SpiffWorkflow 3.2.0), never in PortalFlow's. It uses bench_spiff.py
beside it unchanged: the same BPMN, the same forms, the same `bench_step_persisted` (JSON load, complete the next
user task, run the engine steps, JSON save; three steps per instance, no database). Protocol on stdin/stdout, one
JSON object a line: it says hello with its versions after one untimed warm-up; then for each line holding a number
of instances it times one run of them and answers {"steps": ..., "rate": ...}; an empty line or EOF ends it.
"""

from __future__ import annotations

import json
import platform
import sys
from importlib.metadata import version

import bench_spiff


def main() -> int:
    spec, ser = bench_spiff.load_spec(), bench_spiff.BpmnWorkflowSerializer()
    bench_spiff.bench_step_persisted(spec, ser, 200)  # warm-up, untimed, as the peer's own script does
    print(json.dumps({"spiffworkflow": version("SpiffWorkflow"), "lxml": version("lxml"),
                      "python": platform.python_version()}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            break
        instances = int(line)
        rate = bench_spiff.bench_step_persisted(spec, ser, instances)
        print(json.dumps({"steps": instances * len(bench_spiff.FORMS), "rate": rate}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
