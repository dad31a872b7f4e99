"""A small keep-alive HTTP/1.1 load generator on asyncio protocols: N clients, a fixed duration, latencies.

Kept dependency-free and minimal so that the client costs little CPU next to the cluster it measures
(both share the same two cores): each connection is a bare asyncio.Protocol that writes a request in one
call and parses the response with bytes.find (Content-Length framing only, which is all our server sends),
about a third of what asyncio streams with a readline() per header line cost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# (method, path, body) for the i-th request of a client
RequestFactory = Callable[[int, int], tuple[str, str, bytes]]


@dataclass(slots=True)
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> int:
        return sum(count for status, count in self.statuses.items() if status < 400)

    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def summary(self) -> str:
        if not self.latencies:
            return f"no completed requests (errors={self.errors})"
        return (
            f"{self.rate():9.0f} ok/s  p50 {self.percentile(0.5) * 1e3:6.1f} ms  "
            f"p99 {self.percentile(0.99) * 1e3:6.1f} ms  max {max(self.latencies) * 1e3:6.1f} ms  "
            f"statuses {dict(sorted(self.statuses.items()))}  errors {self.errors}"
        )


class _ResponseReader(asyncio.Protocol):
    """Collects bytes until one whole response (head and Content-Length body) is in; hands over its status."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._maybe_done()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("server closed the connection"))

    def _maybe_done(self) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        buffer = self.buffer
        head_end = buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = bytes(buffer[:head_end]).lower()
        length = 0
        at = head.find(b"\r\ncontent-length:")
        if at >= 0:
            line_end = head.find(b"\r\n", at + 2)
            length = int(head[at + 17 : line_end if line_end >= 0 else len(head)])
        end = head_end + 4 + length
        if len(buffer) < end:
            return
        status = int(head[9:12])
        del buffer[:end]
        waiter.set_result(status)


def _expire(waiter: asyncio.Future[int]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("no response in time"))


class Connection:
    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.protocol: _ResponseReader | None = None
        # extra header lines sent with every request (e.g. Authorization), formatted once
        self.extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())

    async def request(self, method: str, path: str, body: bytes = b"", timeout: float = 10.0) -> int:
        """The response's status; TimeoutError after `timeout` (a timer, not a task per request)."""
        loop = asyncio.get_running_loop()
        protocol = self.protocol
        if protocol is None or protocol.transport is None:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(_ResponseReader, self.host, self.port), timeout
            )
            self.protocol = protocol
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.extra}"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        waiter = protocol.waiter = loop.create_future()
        assert protocol.transport is not None
        protocol.transport.write(head.encode() + b"\r\n" + body)
        timer = loop.call_later(timeout, _expire, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()

    def close(self) -> None:
        if self.protocol is not None and self.protocol.transport is not None:
            self.protocol.transport.close()
        self.protocol = None


async def run_load(
    targets: list[tuple[str, int]],
    make_request: RequestFactory,
    clients: int,
    seconds: float,
    rate: float | None = None,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """Drive `clients` keep-alive connections (spread over `targets`) for `seconds`; never runs longer.

    With `rate` (requests/s, all clients together) each client sends on a fixed schedule instead of as fast
    as it can, and a latency counts from the request's scheduled time, so a stall shows up in the tail
    instead of silently lowering the rate (no coordinated omission)."""
    result = LoadResult()
    begin = time.perf_counter()
    deadline = begin + seconds
    interval = clients / rate if rate else 0.0

    async def client(number: int) -> None:
        connection = Connection(*targets[number % len(targets)], headers)
        sequence = 0
        try:
            while time.perf_counter() < deadline:
                method, path, body = make_request(number, sequence)
                if interval:
                    started = begin + interval * (sequence + number / clients)
                    delay = started - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    if started >= deadline:
                        break
                else:
                    started = time.perf_counter()
                sequence += 1
                try:
                    status = await connection.request(method, path, body)
                except (TimeoutError, OSError, ConnectionError, ValueError):
                    result.errors += 1
                    connection.close()
                    continue
                result.latencies.append(time.perf_counter() - started)
                result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(number) for number in range(clients)))
    result.seconds = time.perf_counter() - started
    return result
