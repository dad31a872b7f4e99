"""The OctoPrint client's typed errors and its per-node bound, against scripted HTTP answers and real sockets
(the real OctoPrint is in test_client_on_octoprint.py)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest

from actors.octoprint.client import (
    BadAnswer,
    NotFound,
    OctoPrintClient,
    Refused,
    Unauthorized,
    Unreachable,
    node_limiter,
)

KEY = "secret-key-that-must-not-leak"
Handler = Callable[[httpx.Request], httpx.Response]


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 20))


def scripted(handler: Handler, limiter: asyncio.Semaphore | None = None) -> OctoPrintClient:
    return OctoPrintClient(
        "http://octoprint.test", KEY, limiter or node_limiter(), transport=httpx.MockTransport(handler)
    )


def answer(status: int, body: Any = None, raw: bytes | None = None) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if raw is not None:
            return httpx.Response(status, content=raw)
        return httpx.Response(status, json=body) if body is not None else httpx.Response(status)

    return handle


async def call(client: OctoPrintClient, method: str, *args: Any) -> Any:
    try:
        return await getattr(client, method)(*args)
    finally:
        await client.aclose()


def test_every_request_carries_the_key_and_the_json_answer_comes_back() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"state": "Operational"})

    assert run(call(scripted(handle), "job")) == {"state": "Operational"}
    assert seen[0].headers["X-Api-Key"] == KEY
    assert seen[0].url.path == "/api/job"


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_unauthorized_and_the_message_hides_the_key(status: int) -> None:
    with pytest.raises(Unauthorized) as caught:
        run(call(scripted(answer(status, {"error": "You don't have the permission"})), "job"))
    assert str(status) in str(caught.value) and KEY not in str(caught.value)
    assert KEY not in repr(scripted(answer(200, {})))


def test_not_found_refused_and_server_errors() -> None:
    with pytest.raises(NotFound):
        run(call(scripted(answer(404, {"error": "not found"})), "print_file", "nope.gcode"))
    assert run(call(scripted(answer(404, {"error": "not found"})), "file_info", "nope.gcode")) is None
    with pytest.raises(Refused) as refused:
        run(call(scripted(answer(409, {"error": "Printer is not operational"})), "print_file", "a.gcode"))
    assert refused.value.status == 409 and "Printer is not operational" in str(refused.value)
    assert run(call(scripted(answer(409, {"error": "Printer is not operational"})), "printer")) is None
    with pytest.raises(Unreachable):
        run(call(scripted(answer(502, raw=b"<html>Bad Gateway</html>")), "job"))


@pytest.mark.parametrize("raw", [b"<html>hello</html>", b'{"state": "Operat', b"[1, 2]", b""])
def test_garbage_json_is_a_bad_answer(raw: bytes) -> None:
    with pytest.raises(BadAnswer):
        run(call(scripted(answer(200, raw=raw)), "job"))


def test_commands_send_what_octoprint_expects() -> None:
    bodies: list[tuple[str, Any]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        bodies.append((request.url.path, json.loads(request.content)))
        return httpx.Response(204)

    async def all_commands() -> None:
        client = scripted(handle)
        await client.print_file("cube.gcode")
        await client.pause()
        await client.resume()
        await client.cancel()
        await client.aclose()

    run(all_commands())
    assert bodies == [
        ("/api/files/local/cube.gcode", {"command": "select", "print": True}),
        ("/api/job", {"command": "pause", "action": "pause"}),
        ("/api/job", {"command": "pause", "action": "resume"}),
        ("/api/job", {"command": "cancel"}),
    ]


def test_a_closed_port_is_unreachable() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now

    async def poll() -> None:
        client = OctoPrintClient(f"http://127.0.0.1:{port}", KEY, node_limiter(), timeout=2)
        await call(client, "job")

    with pytest.raises(Unreachable):
        run(poll())


def test_a_server_that_never_answers_times_out_as_unreachable() -> None:
    async def scenario() -> float:
        silent = await asyncio.start_server(lambda r, w: asyncio.sleep(30), "127.0.0.1", 0)
        port = silent.sockets[0].getsockname()[1]
        client = OctoPrintClient(f"http://127.0.0.1:{port}", KEY, node_limiter(), timeout=0.3)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            with pytest.raises(Unreachable, match="timeout"):
                await client.job()
        finally:
            await client.aclose()
            silent.close()
        return loop.time() - started

    assert run(scenario()) < 5  # bounded by the timeout, not by the server


def test_the_node_limiter_bounds_requests_in_flight_across_clients() -> None:
    async def scenario() -> int:
        in_flight = 0
        most = 0
        gate = asyncio.Event()

        async def slow(request: httpx.Request) -> httpx.Response:
            nonlocal in_flight, most
            in_flight += 1
            most = max(most, in_flight)
            await gate.wait()
            in_flight -= 1
            return httpx.Response(200, json={})

        limiter = node_limiter(3)
        clients = [
            OctoPrintClient(f"http://p{i}.test", KEY, limiter, transport=httpx.MockTransport(slow))
            for i in range(5)
        ]
        tasks = [asyncio.create_task(c.job()) for c in clients for _ in range(2)]
        for _ in range(20):
            await asyncio.sleep(0)
        assert in_flight == 3
        gate.set()
        await asyncio.gather(*tasks)
        for client in clients:
            await client.aclose()
        return most

    assert run(scenario()) == 3


def test_file_names_are_percent_encoded_and_keep_their_folders() -> None:
    paths: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        return httpx.Response(204)

    run(call(scripted(handle), "print_file", "parts/my part #2?.gcode"))
    assert paths == ["/api/files/local/parts/my%20part%20%232%3F.gcode"]
