"""A userspace TCP proxy on 127.0.0.1 for network faults between nodes.

Each directed link between two nodes gets its own proxy (node A's peer address for B points at the proxy for
A->B), so a nemesis can cut, delay or silence one direction of one link:

- heal():   forward everything (the default);
- cut():    close every open connection and refuse new ones (accept, then reset) - a clean partition;
  cut(hold=True) accepts new connections but never forwards a byte, like packets vanishing on the wire;
- drop(d):  keep connections open but silently discard the bytes flowing in direction d. For ZeroMQ this is
  a one-way partition: the TCP session survives and the messages just stop arriving. A stream that lost bytes
  is corrupt, so heal() closes such connections (ZeroMQ reconnects);
- delay(s): hold every chunk `s` seconds before forwarding it (order preserved).

TcpProxy lives on whatever asyncio loop starts it; ProxyThread runs proxies on a loop of their own, for
synchronous test code, and ProxyMesh builds one proxy per ordered pair of nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import TypeVar

HOST = "127.0.0.1"
CHUNK = 65536
T = TypeVar("T")


class Direction(Enum):
    TO_SERVER = "to_server"  # from the connecting side (a node's outgoing DEALER) to the target
    TO_CLIENT = "to_client"


@dataclass
class ProxyStats:
    accepted: int = 0
    refused: int = 0
    held: int = 0
    closed_by_fault: int = 0
    forwarded: dict[Direction, int] = field(default_factory=lambda: dict.fromkeys(Direction, 0))
    dropped: dict[Direction, int] = field(default_factory=lambda: dict.fromkeys(Direction, 0))


@dataclass(eq=False)
class _Connection:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    corrupt: bool = False  # bytes were dropped: the stream can never be trusted again

    def abort(self) -> None:
        for task in self.tasks:
            task.cancel()
        for writer in (self.client, self.server):
            writer.transport.abort()


class TcpProxy:
    """Listens on 127.0.0.1:`listen_port` (0: any free port) and forwards to 127.0.0.1:`target_port`."""

    def __init__(self, target_port: int, listen_port: int = 0, name: str = "") -> None:
        self.target_port = target_port
        self.listen_port = listen_port
        self.name = name or f"->{target_port}"
        self.stats = ProxyStats()
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._held: set[asyncio.StreamWriter] = set()
        self._cut = False
        self._hold = False
        self._dropped: set[Direction] = set()
        self._delay: dict[Direction, float] = dict.fromkeys(Direction, 0.0)

    @property
    def port(self) -> int:
        return self.listen_port

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, HOST, self.listen_port)
        self.listen_port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self._close_all()

    # ---- controls (call on the proxy's loop) ----

    def heal(self) -> None:
        self._cut = self._hold = False
        self._dropped.clear()
        self._delay = dict.fromkeys(Direction, 0.0)
        for connection in [c for c in self._connections if c.corrupt]:
            self._close(connection)
        for writer in self._held:
            writer.transport.abort()
        self._held.clear()

    def cut(self, hold: bool = False) -> None:
        self._cut, self._hold = True, hold
        self._close_all()

    def drop(self, direction: Direction) -> None:
        self._dropped.add(direction)

    def delay(self, seconds: float, direction: Direction | None = None) -> None:
        for each in [direction] if direction else list(Direction):
            self._delay[each] = seconds

    def describe(self) -> str:
        if self._cut:
            return "hold" if self._hold else "cut"
        parts = [f"drop {d.value}" for d in sorted(self._dropped, key=lambda d: d.value)]
        parts += [f"delay {d.value} {s:.3f}s" for d, s in self._delay.items() if s]
        return ", ".join(parts) or "pass"

    # ---- internals ----

    def _close(self, connection: _Connection) -> None:
        if connection in self._connections:
            self._connections.discard(connection)
            self.stats.closed_by_fault += 1
            connection.abort()

    def _close_all(self) -> None:
        for connection in list(self._connections):
            self._close(connection)
        for writer in self._held:
            writer.transport.abort()
        self._held.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            if self._hold:
                self.stats.held += 1
                self._held.add(writer)  # never read: the peer's bytes pile up in kernel buffers
            else:
                self.stats.refused += 1
                writer.transport.abort()
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(HOST, self.target_port)
        except OSError:
            self.stats.refused += 1
            writer.transport.abort()
            return
        if self._cut:  # cut while we were connecting
            server_writer.transport.abort()
            writer.transport.abort()
            self.stats.refused += 1
            return
        self.stats.accepted += 1
        connection = _Connection(writer, server_writer)
        self._connections.add(connection)
        connection.tasks = [
            asyncio.create_task(self._pump(connection, Direction.TO_SERVER, reader, server_writer)),
            asyncio.create_task(self._pump(connection, Direction.TO_CLIENT, server_reader, writer)),
        ]

    async def _pump(
        self,
        connection: _Connection,
        direction: Direction,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
    ) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
        sender = asyncio.create_task(self._send(queue, sink, direction))
        try:
            while True:
                try:
                    data = await source.read(CHUNK)
                except (ConnectionError, OSError):
                    break
                if not data:
                    break
                if direction in self._dropped:
                    connection.corrupt = True
                    self.stats.dropped[direction] += len(data)
                    continue
                queue.put_nowait((loop.time() + self._delay[direction], data))
            queue.put_nowait(None)
            with contextlib.suppress(ConnectionError, OSError):
                await sender
        finally:
            sender.cancel()
            # one side ended: end the whole connection (ZeroMQ never half-closes)
            if connection in self._connections:
                self._connections.discard(connection)
                connection.abort()

    async def _send(
        self,
        queue: asyncio.Queue[tuple[float, bytes] | None],
        sink: asyncio.StreamWriter,
        direction: Direction,
    ) -> None:
        loop = asyncio.get_running_loop()
        while (item := await queue.get()) is not None:
            due, data = item
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            sink.write(data)
            await sink.drain()
            self.stats.forwarded[direction] += len(data)


class ProxyThread:
    """An event loop in a daemon thread hosting proxies; every control call returns once it took effect."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxies", daemon=True)
        self._proxies: list[TcpProxy] = []

    def __enter__(self) -> ProxyThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()

    def run(self, make: Callable[[], Awaitable[T]], timeout: float = 10.0) -> T:
        async def wrapper() -> T:
            return await make()

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        async def wrapper() -> T:
            return fn()

        return self.run(wrapper)

    def add(self, target_port: int, listen_port: int = 0, name: str = "") -> ProxyHandle:
        proxy = TcpProxy(target_port, listen_port, name)
        self.run(proxy.start)
        self._proxies.append(proxy)
        return ProxyHandle(self, proxy)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        for proxy in self._proxies:
            with contextlib.suppress(Exception):
                self.run(proxy.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


@dataclass(frozen=True)
class ProxyHandle:
    """Synchronous controls for one proxy living on a ProxyThread."""

    host: ProxyThread
    proxy: TcpProxy

    @property
    def port(self) -> int:
        return self.proxy.port

    @property
    def name(self) -> str:
        return self.proxy.name

    def heal(self) -> None:
        self.host.call(self.proxy.heal)

    def retarget(self, target_port: int) -> None:
        """New connections go to `target_port` from now on."""

        def set_target() -> None:
            self.proxy.target_port = target_port

        self.host.call(set_target)

    def cut(self, hold: bool = False) -> None:
        self.host.call(lambda: self.proxy.cut(hold))

    def drop(self, direction: Direction) -> None:
        self.host.call(lambda: self.proxy.drop(direction))

    def delay(self, seconds: float, direction: Direction | None = None) -> None:
        self.host.call(lambda: self.proxy.delay(seconds, direction))

    def describe(self) -> str:
        return self.host.call(self.proxy.describe)

    def stats(self) -> ProxyStats:
        def copy() -> ProxyStats:
            s = self.proxy.stats
            return ProxyStats(s.accepted, s.refused, s.held, s.closed_by_fault, dict(s.forwarded),
                              dict(s.dropped))

        return self.host.call(copy)


class ProxyMesh:
    """One proxy per ordered pair of nodes: link (a, b) carries what a sends to b's raft port."""

    def __init__(self, host: ProxyThread, raft_ports: dict[str, int]) -> None:
        """`raft_ports` may still be 0s: start the proxies first (so that ports picked for the nodes later
        cannot collide with theirs) and `retarget` once the nodes' ports are known."""
        self.nodes = sorted(raft_ports)
        self.links: dict[tuple[str, str], ProxyHandle] = {
            (a, b): host.add(raft_ports[b], name=f"{a}->{b}")
            for a in self.nodes
            for b in self.nodes
            if a != b
        }

    def retarget(self, raft_ports: dict[str, int]) -> None:
        for (_, target), handle in self.links.items():
            handle.retarget(raft_ports[target])

    def overrides(self, node: str) -> list[str]:
        """The `--peer-addr-override PEER=HOST:PORT` arguments that route `node`'s peer traffic through us."""
        args = []
        for peer in self.nodes:
            if peer != node:
                args += ["--peer-addr-override", f"{peer}={HOST}:{self.links[(node, peer)].port}"]
        return args

    def links_of(self, node: str) -> Iterator[tuple[tuple[str, str], ProxyHandle]]:
        for pair, handle in self.links.items():
            if node in pair:
                yield pair, handle

    def isolate(self, node: str) -> None:
        for _, handle in self.links_of(node):
            handle.cut()

    def split(self, side: Iterable[str]) -> None:
        """Partition into `side` and everyone else."""
        inside = set(side)
        for (a, b), handle in self.links.items():
            if (a in inside) != (b in inside):
                handle.cut()

    def cut(self, source: str, target: str) -> None:
        """A one-way partition: `source` can no longer reach `target` (the reverse still works)."""
        self.links[(source, target)].cut()

    def heal(self) -> None:
        for handle in self.links.values():
            handle.heal()

    def describe(self) -> dict[str, str]:
        return {handle.name: handle.describe() for handle in self.links.values()}
