"""The history recorder and the HTTP client, against a tiny scripted HTTP server."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable

import pytest

from tests.faults.history import History, HttpClient, Indeterminate, NotSent
from tests.faults.linearizability import UNKNOWN
from tests.faults.models import JobView, ReadJob, Refused


class Server:
    """Answers by path: /ok (JSON, keep-alive), /problem (409 problem+json), /chunked, /close, /hang."""

    def __init__(self) -> None:
        self.connections = 0
        self.bodies: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode()
                path = head.split(" ")[1]
                length = next(int(line.split(":")[1]) for line in head.split("\r\n")
                              if line.lower().startswith("content-length"))
                self.bodies.append(await reader.readexactly(length))
                if path == "/hang":
                    await asyncio.sleep(3600)
                writer.write(self._answer(path))
                await writer.drain()
                if path == "/close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @staticmethod
    def _answer(path: str) -> bytes:
        if path == "/chunked":
            return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[1,\r\n2\r\n2]\r\n0\r\n\r\n"
        if path == "/problem":
            body = json.dumps({"type": "about:blank", "title": "Conflict", "status": 409,
                               "detail": "no", "code": "invalid_transition"}).encode()
            return b"HTTP/1.1 409 Conflict\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        extra = b"Connection: close\r\n" if path == "/close" else b""
        return b"HTTP/1.1 200 OK\r\n%sContent-Length: 11\r\n\r\n{\"ok\": 123}" % extra

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()


def with_server(test: Callable[[Server, HttpClient], Awaitable[None]]) -> None:
    async def main() -> None:
        server = Server()
        client = HttpClient(await server.start(), timeout=2.0)
        try:
            await test(server, client)
        finally:
            await client.close()
            await server.close()

    asyncio.run(main())


def test_keep_alive_reuses_one_connection() -> None:
    async def test(server: Server, client: HttpClient) -> None:
        for _ in range(3):
            reply = await client.request("POST", "/ok", {"x": 1})
            assert reply.status == 200 and reply.json() == {"ok": 123}
        assert server.connections == 1
        assert server.bodies == [b'{"x": 1}'] * 3

    with_server(test)


def test_problem_code_chunked_body_and_connection_close() -> None:
    async def test(server: Server, client: HttpClient) -> None:
        problem = await client.request("PUT", "/problem")
        assert problem.status == 409 and problem.code == "invalid_transition"
        assert (await client.request("GET", "/chunked")).json() == [1, 2]
        assert (await client.request("GET", "/close")).status == 200
        assert (await client.request("GET", "/ok")).code is None
        assert server.connections == 2  # the server closed after /close: a new connection

    with_server(test)


def test_timeout_is_indeterminate_and_the_client_recovers() -> None:
    async def test(server: Server, client: HttpClient) -> None:
        with pytest.raises(Indeterminate, match="timeout"):
            await client.request("GET", "/hang", timeout=0.2)
        assert (await client.request("GET", "/ok")).status == 200

    with_server(test)


def test_connection_refused_is_not_sent() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def main() -> None:
        with pytest.raises(NotSent):
            await HttpClient(port).request("GET", "/ok")

    asyncio.run(main())


def test_history_records_times_outputs_and_indeterminate_operations() -> None:
    ticks = iter(range(100, 1000, 10))
    history = History(clock=lambda: next(ticks))
    first = history.call(1, ReadJob("j", "f"))
    second = history.call(2, ReadJob("j", "f"))
    lost = history.call(3, ReadJob("k", "f"))
    pending = history.call(4, ReadJob("k", "f"))
    history.returned(second, JobView("Queued"), "200")
    history.returned(first, Refused("not_found"), "404")
    history.indeterminate(lost, "timeout")
    never_sent = history.call(5, ReadJob("x", "f"))
    history.forget(never_sent)
    history.close()
    ops = history.operations()
    assert [o.client for o in ops] == [1, 2, 3, 4]
    assert (ops[0].call, ops[0].ret, ops[0].output) == (110, 160, Refused("not_found"))
    assert (ops[1].call, ops[1].ret) == (120, 150)
    assert ops[2].indeterminate and ops[2].output is UNKNOWN and ops[3].indeterminate
    assert pending.note == "still pending at the end"
    assert history.counts() == {"operations": 4, "ok": 2, "indeterminate": 2}
    with pytest.raises(AssertionError):
        history.returned(first, JobView("Running"))
