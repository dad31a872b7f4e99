"""A small keep-alive HTTP/1.1 load generator on asyncio streams: N clients, a fixed duration, latencies.

Kept dependency-free and minimal so that the client costs little CPU next to the cluster it measures
(both share the same two cores).
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


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        assert self.reader is not None
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        payload = await self.reader.readexactly(length) if length else b""
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def run_load(
    targets: list[tuple[str, int]], make_request: RequestFactory, clients: int, seconds: float
) -> LoadResult:
    """Drive `clients` keep-alive connections (spread over `targets`) for `seconds`; never runs longer."""
    result = LoadResult()
    deadline = time.perf_counter() + seconds

    async def client(number: int) -> None:
        connection = Connection(*targets[number % len(targets)])
        sequence = 0
        try:
            while time.perf_counter() < deadline:
                method, path, body = make_request(number, sequence)
                sequence += 1
                started = time.perf_counter()
                try:
                    status, _ = await asyncio.wait_for(connection.request(method, path, body), 10)
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ConnectionError):
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
