"""Run the service: `serve` (HTTP, with the background job) and `worker` (the background job alone)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from api.cli import listeners
from api.cli.opening import open_flow, settings_for
from api.observability.logs import UVICORN_LOG_CONFIG, configure

# uvicorn's supervisor pings each worker every half second and kills one that has not answered within this time.
# Its default, 5 s, killed a worker still starting (migrating and analysing a 1,000,000-enrollment file) on a
# machine at load 12, and the service stopped; a hung worker is still replaced, half a minute later.
WORKER_HEALTHCHECK_SECONDS = 30


def serve(args: argparse.Namespace) -> int:
    if args.database_url:  # the app factory reads its settings from the environment, in every worker process
        os.environ["PORTALFLOW_DATABASE_URL"] = settings_for(args).database_url  # a relative file made absolute
    if args.workers <= 1:
        uvicorn.run("api.app:create_app", factory=True, host=args.host, port=args.port,
                    log_config=UVICORN_LOG_CONFIG)
        return 0
    config = uvicorn.Config("api.app:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
                            log_config=UVICORN_LOG_CONFIG,  # the supervisor's own lines are JSON too
                            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS)
    try:
        sock = listeners.bind(args.host, args.port)  # each worker listens on its own (api/cli/listeners.py)
    except OSError as error:
        print(f"error: cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
        return STARTUP_FAILURE  # 3, as uvicorn answers when a single worker cannot listen
    logging.getLogger("uvicorn.error").info("Uvicorn running on http://%s with %d workers (Press CTRL+C to quit)",
                                            listeners.shown(sock), args.workers)
    Multiprocess(config, sockets=[sock]).run()
    return 0


def worker(args: argparse.Namespace) -> int:
    """Sweep timers and send messages without serving HTTP: `--once` runs one round and prints what it did."""
    settings = settings_for(args)
    configure()  # JSON lines, each round's counts included
    with open_flow(args, workflows=True) as flow:
        if args.once:
            print(flow.background_round())
            return 0
        jobs = flow.background_jobs(settings.sweep_seconds)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        jobs.start()
        print(f"portalflow worker: a round every {settings.sweep_seconds:g} s; Ctrl-C stops", flush=True)
        stop.wait()
        jobs.shutdown()
        return 0
