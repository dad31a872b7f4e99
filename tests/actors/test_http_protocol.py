"""The coalescing transport under uvicorn's protocol: one write per loop turn, nothing lost at close."""

from __future__ import annotations

import asyncio
import json
import socket

from actors.http_protocol import CoalescingTransport


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: object = None) -> object:
        return ("127.0.0.1", 1) if name == "peername" else default


def test_writes_of_one_loop_turn_leave_in_one_call_at_its_end() -> None:
    async def scenario() -> None:
        real = RecordingTransport()
        transport = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(b"")
        transport.write(b"body")
        assert real.writes == []
        await asyncio.sleep(0)
        assert real.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
        transport.write(b"next")  # a later turn: a write of its own
        await asyncio.sleep(0)
        assert real.writes[-1] == b"next" and len(real.writes) == 2
        assert transport.get_extra_info("peername") == ("127.0.0.1", 1)  # everything else delegates

    asyncio.run(scenario())


def test_close_sends_what_was_written_first_and_nothing_after() -> None:
    async def scenario() -> None:
        real = RecordingTransport()
        transport = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"last words")
        transport.close()
        assert real.writes == [b"last words"] and real.closed
        transport.write(b"too late")
        await asyncio.sleep(0)
        assert real.writes == [b"last words"]

    asyncio.run(scenario())


def test_uvicorn_serves_keep_alive_requests_through_it() -> None:
    """A real uvicorn server with the protocol: each response arrives whole, in order, on one connection."""
    import uvicorn

    from actors.http_protocol import CoalescingHttpToolsProtocol

    async def app(scope: dict, receive: object, send: object) -> None:
        body = json.dumps({"path": scope["path"]}).encode()
        await send({"type": "http.response.start", "status": 200,  # type: ignore[operator]
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})  # type: ignore[operator]

    async def scenario() -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(app, lifespan="off", log_level="warning", http=CoalescingHttpToolsProtocol)
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.01)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        requests = b"".join(f"GET /r{k} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for k in range(3))
        writer.write(requests)  # pipelined
        for k in range(3):
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            assert json.loads(await reader.readexactly(length)) == {"path": f"/r{k}"}
        writer.close()
        server.should_exit = True
        await task

    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_coalescing_wraps_a_subclass_of_the_protocol_too() -> None:
    """Another layer's protocol subclass (limits, say) composes: its own hooks run, over the wrapper."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from actors.http_protocol import coalescing

    seen: list[object] = []

    class Recording(HttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            seen.append(transport)
            super().connection_made(transport)

    protocol_class = coalescing(Recording)
    assert issubclass(protocol_class, Recording) and protocol_class.__name__ == "CoalescingRecording"

    async def scenario() -> None:
        import uvicorn
        from uvicorn.server import ServerState

        async def app(scope: dict, receive: object, send: object) -> None:
            pass

        config = uvicorn.Config(app, lifespan="off")
        config.load()
        protocol = protocol_class(  # type: ignore[call-arg]
            config=config, server_state=ServerState(), app_state={}
        )
        real = RecordingTransport()
        protocol.connection_made(real)  # type: ignore[arg-type]
        assert isinstance(seen[0], CoalescingTransport) and protocol.transport is seen[0]

    asyncio.run(scenario())
