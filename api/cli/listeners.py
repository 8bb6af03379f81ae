"""Each worker listens on a socket of its own, all of them one SO_REUSEPORT group: the kernel spreads connections.

uvicorn's supervisor binds one socket and hands every worker that same socket. The worker that wakes first accepts
every connection waiting, so a burst of keep-alive connections lands on one worker: during `make bench-reads`,
30 of its 32 clients were on one of the two workers (`ss -tnp`), that worker held to one core by its interpreter
lock while the other sat idle, and a read's p99 was two to three times its p50. With a socket per worker in one
SO_REUSEPORT group, Linux picks the worker for each new connection by a hash of its addresses: about half each.
(uvicorn has no setting for it yet: its pull request #2472 proposes one.)

The supervisor binds the address in the group and never listens on it: that holds the port, turns port 0 into a
real one and fails at once, in the supervisor, if the address is taken. What it hands each worker is not that
socket but a recipe: uvicorn starts workers with `spawn` and pickles their sockets, and this one unpickles in the
worker as a new socket bound to the same address in the same group. A worker restarted by the supervisor binds its
own again. The sockets are said to be TCP (IPPROTO_TCP) so that asyncio turns Nagle's algorithm off on each
connection (uvicorn issue #3149: otherwise each small answer waits ~40 ms for the client's delayed ACK).

Only on Linux, where SO_REUSEPORT balances; elsewhere the workers share the supervisor's socket, as uvicorn does.
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any

from uvicorn.config import STARTUP_FAILURE


def _bound(family: int, address: Any, *, kind: type[socket.socket] = socket.socket) -> socket.socket:
    sock = kind(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if balanced():
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _worker_socket(family: int, address: Any) -> socket.socket:
    """Called where a `GroupSocket` is unpickled: in a worker, as it starts."""
    try:
        return _bound(family, address)
    except OSError as error:
        # Something took the address between the supervisor's bind and this one. uvicorn's supervisor restarts a
        # worker that fails, forever, unless it ends with uvicorn's startup-failure status: then it stops.
        logging.getLogger("uvicorn.error").error("cannot listen on %s: %s", _shown(address), error.strerror)
        raise SystemExit(STARTUP_FAILURE) from error


class GroupSocket(socket.socket):
    """The supervisor's socket: pickled for a worker, it becomes the worker's own socket in the group."""

    def __reduce_ex__(self, protocol: object) -> tuple[Any, tuple[int, Any]]:
        return _worker_socket, (int(self.family), self.getsockname())


def balanced() -> bool:
    """Whether the kernel spreads a SO_REUSEPORT group's connections (Linux does; BSD and macOS do not)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def bind(host: str, port: int) -> socket.socket:
    """The supervisor's socket on `host:port` (port 0: a free one). Raises OSError if the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if balanced() and port:
        # A group admits any socket of the same user that asks to join: a second `portalflow serve` on the port
        # would share its connections with this one. A bind outside the group fails if anything listens there.
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a recent stop's connections don't count
            probe.bind((host, port))
    return _bound(family, (host, port), kind=GroupSocket if balanced() else socket.socket)


def shown(sock: socket.socket) -> str:
    """The socket's address as a URL writes it: host:port, or [host]:port for IPv6."""
    return _shown(sock.getsockname())


def _shown(address: Any) -> str:
    host, port = address[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
