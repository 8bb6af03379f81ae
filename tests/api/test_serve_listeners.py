"""`portalflow serve --workers N`: each worker listens on a socket of its own in one SO_REUSEPORT group."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import pickle
import socket
from multiprocessing.connection import Connection
from typing import Any

import pytest
from uvicorn.supervisors import Multiprocess

from api.cli import listeners, service

linux_only = pytest.mark.skipif(not listeners.balanced(), reason="SO_REUSEPORT balances connections on Linux only")


def _accept(sock: socket.socket, ready: Connection, counts: Connection) -> None:
    """A stand-in for a worker: listen on the socket it was handed, and once told, count the connections waiting."""
    reuse_port = sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
    sock.listen(64)
    ready.send((reuse_port, os.fstat(sock.fileno()).st_ino))  # the inode names the socket, whatever the fd
    counts.recv()  # the parent has made every connection: each waits in one of the sockets' queues
    sock.settimeout(0.5)
    accepted = 0
    try:
        while True:
            conn, _ = sock.accept()
            conn.close()
            accepted += 1
    except TimeoutError:
        counts.send(accepted)


@linux_only
def test_each_worker_started_with_the_supervisors_socket_listens_on_one_of_its_own_and_both_get_connections(
        ) -> None:
    spawn = multiprocessing.get_context("spawn")  # how uvicorn starts its workers: their sockets are pickled
    held = listeners.bind("127.0.0.1", 0)
    port = held.getsockname()[1]
    workers, pipes = [], []
    try:
        for _ in range(2):
            ready_parent, ready_child = spawn.Pipe()
            counts_parent, counts_child = spawn.Pipe()
            worker = spawn.Process(target=_accept, args=(held, ready_child, counts_child))
            worker.start()
            workers.append(worker)
            pipes.append((ready_parent, counts_parent))
        assert all(ready.poll(60) for ready, _ in pipes)  # both started (spawn imports this module first)
        (reuse_a, socket_a), (reuse_b, socket_b) = (ready.recv() for ready, _ in pipes)
        assert reuse_a == reuse_b == 1  # in the group
        assert len({socket_a, socket_b, os.fstat(held.fileno()).st_ino}) == 3  # each its own, not the supervisor's
        for _ in range(64):
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass
        for _, counts in pipes:
            counts.send("count")
        assert all(counts.poll(30) for _, counts in pipes)
        accepted = [counts.recv() for _, counts in pipes]
    finally:
        for worker in workers:
            worker.join(10)
            if worker.is_alive():
                worker.terminate()
        held.close()
    assert sum(accepted) == 64  # the supervisor's socket, never listening, took none
    assert min(accepted) > 0  # a shared socket gives a burst to whichever wakes first; the kernel spreads these


@linux_only
def test_the_supervisors_socket_holds_the_port_without_listening_so_nothing_else_can_take_it() -> None:
    held = listeners.bind("127.0.0.1", 0)
    try:
        port = held.getsockname()[1]
        assert port != 0
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        with socket.socket() as intruder, pytest.raises(OSError, match="in use"):
            intruder.bind(("127.0.0.1", port))
    finally:
        held.close()


@linux_only
def test_a_second_service_on_the_port_of_one_listening_is_refused_rather_than_let_into_its_group() -> None:
    held = listeners.bind("127.0.0.1", 0)
    port = held.getsockname()[1]
    worker = pickle.loads(pickle.dumps(held))  # what a worker gets: a socket of its own, in the group
    try:
        assert worker.fileno() != held.fileno()
        worker.listen()
        with pytest.raises(OSError, match="in use"):
            listeners.bind("127.0.0.1", port)
    finally:
        worker.close()
        held.close()


@linux_only
def test_a_worker_that_cannot_bind_ends_with_uvicorns_startup_failure_status_so_it_is_not_restarted_forever(
        ) -> None:
    held = listeners.bind("127.0.0.1", 0)
    port = held.getsockname()[1]
    held.close()
    with socket.socket() as intruder:  # took the address after the supervisor's bind: no SO_REUSEPORT
        intruder.bind(("127.0.0.1", port))
        intruder.listen()
        with pytest.raises(SystemExit) as ended:
            listeners._worker_socket(socket.AF_INET, ("127.0.0.1", port))
    assert ended.value.code == 3


def test_serving_on_a_port_already_taken_says_which_and_starts_no_worker(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def never(self: Multiprocess, *_: Any) -> None:
        raise AssertionError("workers were started")

    monkeypatch.setattr(Multiprocess, "run", never)
    monkeypatch.delenv("PORTALFLOW_DATABASE_URL", raising=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = argparse.Namespace(database_url=None, workers=2, host="127.0.0.1", port=port)
        assert service.serve(args) == 3
    assert capsys.readouterr().err == f"error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
