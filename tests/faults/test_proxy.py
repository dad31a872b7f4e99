"""The fault proxy against a tiny echo server: every control does what it says, in the direction it says."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from tests.faults.proxy import HOST, Direction, ProxyMesh, ProxyThread, TcpProxy

T = TypeVar("T")


class Echo:
    """Echoes every byte back and remembers what it received."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, HOST, 0)
        return self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(4096):
                self.received += data
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        await asyncio.sleep(0.01)


async def silent(reader: asyncio.StreamReader, quiet: float = 0.3) -> bool:
    """True if nothing arrives for `quiet` seconds (the only way to observe an absence)."""
    try:
        await asyncio.wait_for(reader.read(1), quiet)
    except TimeoutError:
        return True
    return False


async def closed(reader: asyncio.StreamReader, timeout: float = 5.0) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), timeout) == b""
    except ConnectionError:
        return True


def with_proxy(test: Callable[[TcpProxy, Echo], Awaitable[None]]) -> None:
    async def main() -> None:
        echo = Echo()
        proxy = TcpProxy(await echo.start())
        await proxy.start()
        try:
            await test(proxy, echo)
        finally:
            await proxy.close()
            await echo.close()

    asyncio.run(main())


async def roundtrip(proxy: TcpProxy, payload: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(HOST, proxy.port)
    writer.write(payload)
    assert await asyncio.wait_for(reader.readexactly(len(payload)), 5) == payload
    return reader, writer


def test_pass_forwards_both_ways() -> None:
    async def test(proxy: TcpProxy, echo: Echo) -> None:
        _, writer = await roundtrip(proxy, b"hello")
        assert bytes(echo.received) == b"hello"
        assert proxy.stats.forwarded == {Direction.TO_SERVER: 5, Direction.TO_CLIENT: 5}
        assert proxy.describe() == "pass"
        writer.close()

    with_proxy(test)


def test_cut_closes_open_connections_and_refuses_new_ones() -> None:
    async def test(proxy: TcpProxy, echo: Echo) -> None:
        reader, _ = await roundtrip(proxy, b"before")
        proxy.cut()
        assert await closed(reader)
        new_reader, new_writer = await asyncio.open_connection(HOST, proxy.port)
        new_writer.write(b"during")
        assert await closed(new_reader)
        assert bytes(echo.received) == b"before"
        assert proxy.stats.refused == 1 and proxy.describe() == "cut"
        proxy.heal()
        await roundtrip(proxy, b"after")
        assert bytes(echo.received) == b"beforeafter"

    with_proxy(test)


def test_hold_accepts_but_forwards_nothing_until_heal_closes_it() -> None:
    async def test(proxy: TcpProxy, echo: Echo) -> None:
        proxy.cut(hold=True)
        reader, writer = await asyncio.open_connection(HOST, proxy.port)
        writer.write(b"stuck")
        assert await silent(reader)
        assert bytes(echo.received) == b"" and proxy.stats.held == 1
        proxy.heal()
        assert await closed(reader)  # so the client reconnects instead of waiting on a dead stream
        await roundtrip(proxy, b"fresh")

    with_proxy(test)


def test_drop_to_server_discards_requests_and_keeps_the_connection() -> None:
    async def test(proxy: TcpProxy, echo: Echo) -> None:
        reader, writer = await roundtrip(proxy, b"ok")
        proxy.drop(Direction.TO_SERVER)
        writer.write(b"lost")
        await until(lambda: proxy.stats.dropped[Direction.TO_SERVER] == 4)
        assert await silent(reader)
        assert bytes(echo.received) == b"ok"
        proxy.heal()
        assert await closed(reader)  # four bytes vanished mid-stream: the stream is corrupt
        await roundtrip(proxy, b"again")

    with_proxy(test)


def test_drop_to_client_lets_requests_through_and_silences_replies() -> None:
    async def test(proxy: TcpProxy, echo: Echo) -> None:
        reader, writer = await roundtrip(proxy, b"ok")
        proxy.drop(Direction.TO_CLIENT)
        writer.write(b"heard")
        await until(lambda: bytes(echo.received) == b"okheard")
        await until(lambda: proxy.stats.dropped[Direction.TO_CLIENT] == 5)
        assert await silent(reader)
        assert proxy.describe() == "drop to_client"

    with_proxy(test)


def test_delay_holds_bytes_back_and_keeps_their_order() -> None:
    async def test(proxy: TcpProxy, echo: Echo) -> None:
        reader, writer = await roundtrip(proxy, b"warm")
        proxy.delay(0.25, Direction.TO_SERVER)
        started = time.monotonic()
        for k in range(20):
            writer.write(b"%02d" % k)
            await writer.drain()
        echoed = await asyncio.wait_for(reader.readexactly(40), 5)
        # the proxy's own guarantee (each chunk waits its delay), not a performance claim
        assert time.monotonic() - started >= 0.25 * 0.9
        assert echoed == b"".join(b"%02d" % k for k in range(20))
        proxy.heal()
        assert proxy.describe() == "pass"

    with_proxy(test)


def test_target_down_means_connections_are_refused() -> None:
    async def main() -> None:
        with socket.socket() as sock:
            sock.bind((HOST, 0))
            dead_port = sock.getsockname()[1]
        proxy = TcpProxy(dead_port)
        await proxy.start()
        reader, _ = await asyncio.open_connection(HOST, proxy.port)
        assert await closed(reader)
        assert proxy.stats.refused == 1
        await proxy.close()

    asyncio.run(main())


def test_proxy_thread_and_mesh_from_synchronous_code() -> None:
    """Three echo servers stand in for nodes; links are independent and one-way cuts stay one-way."""
    loop = asyncio.new_event_loop()
    echoes = [Echo() for _ in range(3)]
    ports = [loop.run_until_complete(e.start()) for e in echoes]
    try:
        with ProxyThread() as host:
            mesh = ProxyMesh(host, {"n1": 0, "n2": 0, "n3": 0})  # proxies first, targets once known
            mesh.retarget({"n1": ports[0], "n2": ports[1], "n3": ports[2]})
            assert len(mesh.links) == 6
            args = mesh.overrides("n1")
            assert args[0] == "--peer-addr-override" and args[1].startswith("n2=127.0.0.1:")
            assert args[3] == f"n3=127.0.0.1:{mesh.links[('n1', 'n3')].port}"

            def talk(source: str, target: str) -> bool:
                port = mesh.links[(source, target)].port
                with socket.create_connection((HOST, port), timeout=2) as sock:
                    try:
                        sock.sendall(b"x")
                        return sock.recv(1) == b"x"
                    except (ConnectionError, TimeoutError):
                        return False

            def check(source: str, target: str, expect: bool) -> None:
                # the echo servers live on `loop`: run it while a thread talks through the proxy
                result = loop.run_until_complete(asyncio.to_thread(talk, source, target))
                assert result is expect, (source, target, mesh.describe())

            check("n1", "n2", True)
            mesh.cut("n1", "n2")
            check("n1", "n2", False)
            check("n2", "n1", True)
            mesh.heal()
            mesh.isolate("n3")
            check("n3", "n1", False)
            check("n2", "n3", False)
            check("n1", "n2", True)
            mesh.heal()
            mesh.split(["n1"])
            check("n1", "n2", False)
            check("n3", "n2", True)
            assert mesh.describe()["n2->n1"] == "cut"
            mesh.heal()
            check("n1", "n2", True)
    finally:
        for echo in echoes:
            loop.run_until_complete(echo.close())
        loop.close()


@pytest.mark.parametrize("hold", [False, True])
def test_handle_controls_round_trip_through_the_thread(hold: bool) -> None:
    loop = asyncio.new_event_loop()
    echo = Echo()
    port = loop.run_until_complete(echo.start())
    try:
        with ProxyThread() as host:
            handle = host.add(port)
            handle.cut(hold=hold)
            assert handle.describe() == ("hold" if hold else "cut")
            handle.drop(Direction.TO_CLIENT)
            handle.delay(0.1)
            handle.heal()
            assert handle.describe() == "pass"
            assert handle.stats().accepted == 0
    finally:
        loop.run_until_complete(echo.close())
        loop.close()
