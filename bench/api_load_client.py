"""The load generator of `bench.api_load`: C keep-alive HTTP/1.1 connections on one asyncio loop, closed loop.

The C connections are opened one by one, a few milliseconds apart, before the clock starts. On one socket shared by
the workers (uvicorn's way), a burst would all be accepted by whichever worker wakes first (seen: 32 on one worker, 0
on the other; and 30 and 2 even a few milliseconds apart); `portalflow serve` gives each worker a socket of its own
(api/cli/listeners.py) and the kernel spreads the connections. Each connection sends its next request as soon as the
previous answer is read, so C requests are always in flight. Requests are prebuilt bytes and answers are parsed just
enough (status, Content-Length or chunked), on uvloop's event loop, as the service's: a lean client leaves more of the
machine's two cores to the server than httpx would, and the "client-only" phase of `bench.api_load` shows what this
client drives against a server that does nothing.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import uvloop

READ_TIMEOUT = 30.0  # seconds one answer may take before it counts as an error
CONNECT_GAP = 0.01  # seconds between opening two connections, before the clock starts

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass
class Phase:
    """What one timed phase did: every latency of a complete answer, the statuses, and the transport errors."""

    label: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    client_cpu: float = 0.0
    server_cpu_by_process: dict[int, float] = field(default_factory=dict)
    connections_by_process: dict[int, int] = field(default_factory=dict)
    acts: int = 0  # enrollments the phase moved besides its own answers' count (the page phase's actions)

    @property
    def server_cpu(self) -> float | None:
        return sum(self.server_cpu_by_process.values()) if self.server_cpu_by_process else None

    @property
    def answered(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile, in seconds."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def request_bytes(method: str, path: str, host: str, token: str | None, body: bytes | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Accept: application/json"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + (body or b"")


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one whole answer; its status, and whether the server keeps the connection open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)  # the chunk and its CRLF (the last chunk is empty)
            if size == 0:
                break
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection", "").lower() != "close"


async def _connection(host: str, port: int, opened: Streams | None, next_request: Callable[[], bytes | None],
                      phase: Phase) -> None:
    reader, writer = opened if opened is not None else (None, None)
    try:
        while (request := next_request()) is not None:
            began = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                assert reader is not None
                writer.write(request)
                status, keep = await asyncio.wait_for(_read_answer(reader), READ_TIMEOUT)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError) as e:
                phase.errors[type(e).__name__] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            phase.latencies.append(time.perf_counter() - began)
            phase.statuses[status] += 1
            if not keep:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


def run_phase(label: str, host: str, port: int, requests: Iterator[bytes], *, clients: int, max_requests: int,
              max_seconds: float, cpu_of_server: Callable[[], dict[int, float]] = dict,
              connections: Callable[[], dict[int, int]] = dict) -> Phase:
    """Send up to `max_requests` of `requests` over `clients` connections, stopping early after `max_seconds`.

    `cpu_of_server` gives the CPU seconds used so far by each server process; the phase keeps the differences.
    `connections` says how many connections each server process holds, asked once they are all open (untimed).
    """
    phase = Phase(label)
    sent = 0
    deadline = 0.0

    def next_request() -> bytes | None:
        nonlocal sent
        if sent >= max_requests or time.perf_counter() >= deadline:
            return None
        request = next(requests, None)
        if request is not None:
            sent += 1
        return request

    async def run() -> None:
        nonlocal deadline
        opened: list[Streams | None] = []
        for _ in range(clients):
            try:
                opened.append(await asyncio.open_connection(host, port))
            except OSError as error:
                phase.errors[type(error).__name__] += 1
                opened.append(None)
            await asyncio.sleep(CONNECT_GAP)
        phase.connections_by_process = connections()
        server_before, client_before = cpu_of_server(), time.process_time()
        began = time.perf_counter()
        deadline = began + max_seconds
        await asyncio.gather(*(_connection(host, port, streams, next_request, phase) for streams in opened))
        phase.seconds = time.perf_counter() - began
        phase.client_cpu = time.process_time() - client_before
        server_after = cpu_of_server()
        phase.server_cpu_by_process = {pid: server_after[pid] - before for pid, before in server_before.items()
                                       if pid in server_after}

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(run())
    return phase
