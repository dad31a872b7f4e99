"""Recording what clients did, and a small keep-alive HTTP client to do it with.

History: every operation with the client that issued it, its input, the monotonic time its call left and
its answer arrived, and its output. An answer that never came (a timeout, a reset after sending, a 5xx) is
recorded as indeterminate: the operation may or may not have taken effect, and the checker treats it so.

HttpClient: HTTP/1.1 over asyncio streams with keep-alive, stdlib only, so hundreds of concurrent operations
share one event loop. It separates the two ways a request can fail, because the history needs to know:
NotSent (we could not even connect: the server never saw it) and Indeterminate (it may have been processed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.faults.linearizability import UNKNOWN, Operation

# ---- the history ----


@dataclass(slots=True)
class Record:
    index: int
    client: int
    input: Any
    call: int
    ret: int | None = None
    output: Any = UNKNOWN
    note: str = ""  # why an operation is indeterminate, or which HTTP status produced the output
    done: bool = False

    @property
    def indeterminate(self) -> bool:
        return self.done and self.ret is None


class History:
    """Append-only, for one event loop (no locking). Times come from `clock` (monotonic nanoseconds)."""

    def __init__(self, clock: Callable[[], int] = time.monotonic_ns) -> None:
        self.clock = clock
        self.origin = clock()
        self.records: list[Record] = []

    def call(self, client: int, input: Any) -> Record:
        record = Record(len(self.records), client, input, self.clock())
        self.records.append(record)
        return record

    def returned(self, record: Record, output: Any, note: str = "") -> None:
        assert not record.done, record
        record.ret, record.output, record.note, record.done = self.clock(), output, note, True

    def indeterminate(self, record: Record, note: str) -> None:
        assert not record.done, record
        record.note, record.done = note, True

    def forget(self, record: Record) -> None:
        """The operation certainly never reached a server: it is not part of the history."""
        self.records.remove(record)

    def close(self) -> None:
        """Operations still in flight at the end never answered: they are indeterminate."""
        for record in self.records:
            if not record.done:
                self.indeterminate(record, "still pending at the end")

    def operations(self) -> list[Operation]:
        return [
            Operation(r.client, r.input, r.call, r.ret, r.output if r.ret is not None else UNKNOWN)
            for r in self.records
            if r.done
        ]

    def counts(self) -> dict[str, int]:
        done = [r for r in self.records if r.done]
        return {
            "operations": len(done),
            "ok": sum(1 for r in done if r.ret is not None),
            "indeterminate": sum(1 for r in done if r.ret is None),
        }

    def dump(self, path: str) -> None:
        with open(path, "w") as out:
            for r in self.records:
                line = {"client": r.client, "input": repr(r.input), "call": r.call - self.origin,
                        "ret": None if r.ret is None else r.ret - self.origin, "output": repr(r.output),
                        "note": r.note}
                out.write(json.dumps(line) + "\n")


# ---- the HTTP client ----


class HttpFailure(Exception):
    pass


class NotSent(HttpFailure):
    """The request never reached a server (connection refused): it certainly had no effect."""


class Indeterminate(HttpFailure):
    """The request may have been processed: timeout, reset or EOF after sending."""


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def code(self) -> str | None:
        """The problem+json `code` of an error reply."""
        if self.status < 400:
            return None
        try:
            return self.json().get("code")
        except (ValueError, AttributeError):
            return None


@dataclass
class HttpClient:
    """One keep-alive connection to 127.0.0.1:`port`; one request at a time (use one client per worker)."""

    port: int
    timeout: float = 5.0
    host: str = "127.0.0.1"
    _reader: asyncio.StreamReader | None = field(default=None, repr=False)
    _writer: asyncio.StreamWriter | None = field(default=None, repr=False)

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.transport.abort()

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Reply:
        payload = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines.append(f"Content-Length: {len(payload)}")
        if body is not None:
            lines.append("Content-Type: application/json")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
        try:
            return await asyncio.wait_for(self._exchange(raw), timeout or self.timeout)
        except TimeoutError:
            await self.close()
            raise Indeterminate(f"timeout after {timeout or self.timeout:.1f}s") from None
        except HttpFailure:
            await self.close()
            raise
        except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            await self.close()
            raise Indeterminate(f"{type(exc).__name__}: {exc}") from None

    async def _exchange(self, raw: bytes) -> Reply:
        if self._writer is None:
            try:
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            except OSError as exc:
                raise NotSent(f"connect: {exc}") from None
        assert self._reader is not None and self._writer is not None
        self._writer.write(raw)
        await self._writer.drain()
        reply = await _read_reply(self._reader)
        if reply.headers.get("connection", "").lower() == "close":
            await self.close()
        return reply


async def _read_reply(reader: asyncio.StreamReader) -> Reply:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            body += await reader.readexactly(size)
            await reader.readexactly(2)
        return Reply(status, headers, bytes(body))
    if "content-length" in headers:
        return Reply(status, headers, await reader.readexactly(int(headers["content-length"])))
    if status in (204, 304) or 100 <= status < 200:
        return Reply(status, headers, b"")
    return Reply(status, headers, await reader.read())  # until the server closes


async def close_all(clients: list[HttpClient]) -> None:
    for client in clients:
        with contextlib.suppress(Exception):
            await client.close()
