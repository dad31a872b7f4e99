"""One node: storage, the Raft core, the actors, the ZeroMQ transport and HTTP, in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import random
import signal
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from actors.base import Actor, ActorError, MailboxFull
from actors.codec import ForwardFailed, ForwardReply, RaftFrame, Received
from actors.consensus import Compact, RaftActor, Step
from actors.event_fanout import MAX_STREAMS, EventFanout
from actors.http_bridge import HttpBridgeActor
from actors.http_limits import HandshakeTimeoutServer, HttpLimits, file_limits, limited_protocol
from actors.http_protocol import CoalescingHttpToolsProtocol
from actors.membership import MembershipActor, peer_addresses
from actors.metrics import NodeMetrics
from actors.octoprint.farm_port import NodeFarmPort
from actors.octoprint.metrics import ConnectionCollector
from actors.octoprint.supervisor import ConnectionSupervisor
from actors.peer_key import ClusterKey, PeerKeyError, is_loopback
from actors.state_machine import StateMachineActor
from actors.superseded import superseded_warning
from actors.tls import check_tls_files
from actors.transport import Transport
from httpapi.access import AccessOptions
from httpapi.app import create_app
from raft.core import RaftConfig, RaftNode, bootstrap_state
from raft.storage import Storage
from raft.types import Membership, RecoveredState, Snapshot

log = logging.getLogger("printfarm.node")

# Young-generation threshold of a node process (CPython's default is 700). A request in flight holds a few
# dozen young objects (futures, coroutines, dicts); with 64 in flight, a collection every 700 allocations
# scans the same live ones again and again, and keeps promoting them towards the full collections.
GC_YOUNG_THRESHOLD = 10_000
# Entries the Raft log keeps before each snapshot's index (etcd keeps 5,000): a follower that lagged briefly
# catches up from the log instead of receiving the whole snapshot.
COMPACTION_TAIL = 5_000


@dataclass
class NodeOptions:
    node_id: str
    raft_addr: str
    data_dir: str
    http_port: int
    http_host: str = "127.0.0.1"
    bootstrap: bool = False
    join: str | None = None
    join_token: str | None = None  # sent with --join's POST /join once access control is on
    tick_ms: int = 50
    election_ticks: int = 10
    heartbeat_ticks: int = 2
    snapshot_every: int = 10_000
    request_timeout: float = 5.0
    peer_addr_overrides: dict[str, str] = field(default_factory=dict)
    cluster_key: ClusterKey | None = None  # CurveZMQ on every peer link (actors/peer_key.py)
    insecure_peers: bool = False  # allow a non-loopback raft_addr without a cluster key
    # the front door (README "Security"): serve an open cluster beyond loopback, HTTPS, limits
    serve_open: bool = False
    tls_cert: str | None = None
    tls_key: str | None = None
    max_header_bytes: int = 16 * 1024
    head_timeout: float = 10.0
    max_connections: int = 1024
    max_state_bytes: int = 1 << 30
    max_event_streams: int = MAX_STREAMS
    compaction_tail: int = COMPACTION_TAIL


class _Server(HandshakeTimeoutServer):
    """uvicorn inside our loop: the node owns SIGINT/SIGTERM, not uvicorn."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Node:
    def __init__(self, options: NodeOptions) -> None:
        self.options = options
        self.node_id = options.node_id
        self.exit_code = 0
        self._stop = asyncio.Event()
        self._stopping = False
        self._actors: list[Actor] = []
        self._server: _Server | None = None
        self._server_task: asyncio.Task[Any] | None = None
        self._http_socket: socket.socket | None = None
        self.storage: Any = None

    # --- start ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        opts = self.options
        check_peer_security(opts)
        check_tls_files(opts.tls_cert, opts.tls_key)
        if opts.cluster_key is None and not is_loopback(opts.raft_addr):
            log.warning(
                "%s: --insecure-peers: whoever reaches %s can disrupt the cluster",
                opts.node_id,
                opts.raft_addr,
            )
        self._http_socket = http_socket = self._bind_http()  # a taken port fails before anything is written
        try:
            self.storage = storage = Storage.open(opts.data_dir, opts.node_id)
            self.metrics = metrics = NodeMetrics(opts.node_id)
            supervise = self._actor_crashed
            self.transport = transport = Transport(
                opts.node_id,
                opts.raft_addr,
                cluster_id=storage.cluster_id,
                deliver=self._deliver,
                adopt_cluster_id=storage.set_cluster_id,
                overrides=opts.peer_addr_overrides,
                cluster_key=opts.cluster_key,
                supervisor=supervise,
            )
            transport.bind()
        except BaseException:
            self._close_http_socket()
            raise
        recovered = await self._recover_or_bootstrap(storage)
        transport.cluster_id = storage.cluster_id
        storage.on_fsync = metrics.observe_fsync
        config = RaftConfig(
            node_id=opts.node_id,
            election_ticks=opts.election_ticks,
            heartbeat_ticks=opts.heartbeat_ticks,
            compaction_tail=opts.compaction_tail,
            incarnation=storage.incarnation,
        )
        core = RaftNode(config, recovered, random.Random())
        metrics.track_peer_drops(transport.stats.as_dict)
        self.state_machine = state_machine = StateMachineActor(
            opts.node_id,
            recovered.snapshot,
            save_snapshot=storage.save_snapshot,
            compact=self._compact,
            snapshot_every=opts.snapshot_every,
            supervisor=supervise,
            max_state_bytes=opts.max_state_bytes,
            events=EventFanout(max_streams=opts.max_event_streams),
        )
        metrics.state_bytes.set_function(lambda: state_machine.state_size.value)
        metrics.track_event_streams(state_machine.events)
        self.raft = raft = RaftActor(
            core,
            storage,
            transport,
            state_machine,
            metrics,
            tick_seconds=opts.tick_ms / 1000,
            on_membership=self._membership_changed,
            on_leader=self._leader_changed,
            supervisor=supervise,
        )
        self.membership = membership = MembershipActor(
            opts.node_id,
            opts.raft_addr,
            raft,
            state_machine,
            join_url=opts.join,
            join_token=opts.join_token,
            supervisor=supervise,
        )
        self.bridge = HttpBridgeActor(
            opts.node_id,
            raft,
            state_machine,
            membership,
            transport,
            metrics,
            request_timeout=opts.request_timeout,
            supervisor=supervise,
            max_state_bytes=opts.max_state_bytes,
        )
        # printer connections: alive on the leader only (actors/octoprint/)
        self.connections = ConnectionSupervisor(opts.node_id, NodeFarmPort(state_machine, self.bridge))
        metrics.registry.register(ConnectionCollector(opts.node_id, self.connections.stats))
        self._actors = [transport, state_machine, raft, membership, self.bridge]
        for actor in self._actors:
            actor.start()
        await self._serve_http(http_socket)
        log.info(
            "%s: serving %s://%s:%d, raft on %s, data in %s",
            opts.node_id,
            "https" if opts.tls_cert else "http",
            opts.http_host,
            opts.http_port,
            opts.raft_addr,
            os.path.abspath(opts.data_dir),
        )

    async def _recover_or_bootstrap(self, storage: Any) -> RecoveredState:
        opts = self.options
        if not opts.bootstrap:
            if storage.is_empty():
                log.info("%s: no data yet; waiting to be joined to a cluster", opts.node_id)
            return storage.recovered
        if not storage.is_empty():
            log.info("%s: already bootstrapped; starting from the data in %s", opts.node_id, opts.data_dir)
            return storage.recovered
        if storage.cluster_id is None:
            storage.set_cluster_id(uuid.uuid4().hex)
        state = bootstrap_state(opts.node_id, opts.raft_addr, storage.incarnation)
        assert state.snapshot is not None
        await storage.save_snapshot(state.snapshot)
        await storage.save(state.hard_state, [])
        log.info("%s: bootstrapped a new cluster %s", opts.node_id, storage.cluster_id)
        return state

    def _bind_http(self) -> socket.socket:
        opts = self.options
        sock = socket.socket(socket.AF_INET6 if ":" in opts.http_host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((opts.http_host, opts.http_port))
        except OSError as exc:
            sock.close()
            raise OSError(f"cannot listen on http {opts.http_host}:{opts.http_port}: {exc.strerror}") from exc
        return sock

    async def _serve_http(self, sock: socket.socket) -> None:
        opts = self.options
        metrics = self.metrics
        max_connections, _ = file_limits(opts.max_connections)
        metrics.http_connection_limit.set(max_connections)
        limits = HttpLimits(opts.max_header_bytes, opts.head_timeout, max_connections, metrics.refused)
        access = AccessOptions(opts.http_host, opts.serve_open, metrics.refused)
        config = uvicorn.Config(
            create_app(self.bridge, access=access),
            # one socket write per response, within the front door's limits
            http=limited_protocol(limits, CoalescingHttpToolsProtocol),
            ssl_certfile=opts.tls_cert,
            ssl_keyfile=opts.tls_key,
            host=opts.http_host,
            port=opts.http_port,
            lifespan="off",
            log_level="warning",
            access_log=False,
            proxy_headers=False,  # nothing proxies us; the middleware costs every request
            server_header=False,
            timeout_graceful_shutdown=3,
        )
        self._server = server = _Server(config)
        server.handshake_timeout = opts.head_timeout
        metrics.http_connections.set_function(lambda: len(server.server_state.connections))
        self._server_task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
        while not server.started:
            if self._server_task.done():
                self._server_task.result()
                raise RuntimeError("the HTTP server stopped during start-up")
            await asyncio.sleep(0.01)

    def _close_http_socket(self) -> None:
        if self._http_socket is not None:
            self._http_socket.close()
            self._http_socket = None

    # --- peer frames into actors --------------------------------------------------------------------------

    def _deliver(self, sender: str, received: Received) -> None:
        frame = received.frame
        try:
            if isinstance(frame, RaftFrame):
                self.raft.tell(Step(frame.message))
            elif isinstance(frame, ForwardReply | ForwardFailed):
                self.bridge.peer_answered(sender, frame)
            else:
                self.bridge.serve_peer(sender, frame)
        except MailboxFull:
            self.transport.stats.dropped_inbox_full += 1
            if not isinstance(frame, RaftFrame | ForwardReply | ForwardFailed):
                self.transport.post(sender, ForwardFailed(frame.request_id, "busy"))  # retry, not a timeout
        except ActorError:
            pass  # stopping

    def _membership_changed(self, membership: Membership) -> None:
        self.transport.set_peers(peer_addresses(membership))
        warning = superseded_warning(self.options, membership, self.storage.incarnation)
        if warning is not None:
            log.error("%s", warning)

    def _leader_changed(self, leader: str | None) -> None:
        self.bridge.leader_changed(leader)
        self.connections.leader_changed(leader)

    async def _compact(self, snapshot: Snapshot) -> None:
        await self.raft.deliver(Compact(snapshot))

    # --- stop -------------------------------------------------------------------------------------------

    def _actor_crashed(self, actor: Actor, exc: BaseException) -> None:
        what = f"{type(exc).__name__}: {exc}"
        log.critical("%s: %s crashed (%s); stopping the node", self.node_id, actor.name, what, exc_info=exc)
        self.request_stop(exit_code=1)

    def request_stop(self, exit_code: int = 0) -> None:
        self.exit_code = max(self.exit_code, exit_code)
        self._stop.set()

    async def run(self, on_started: Callable[[], None] | None = None) -> int:
        """Start, serve until asked to stop (signal or crash), shut down; returns the exit code."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self._on_signal, signum)
        try:
            await self.start()
            if on_started is not None:
                on_started()
            await self._stop.wait()
        finally:
            await self.shutdown()
        return self.exit_code

    def _on_signal(self, signum: int) -> None:
        if self._stop.is_set():
            log.warning("%s: second %s: exiting at once", self.node_id, signal.Signals(signum).name)
            os._exit(1)
        log.info("%s: %s received: shutting down", self.node_id, signal.Signals(signum).name)
        self.request_stop()

    async def shutdown(self) -> None:
        """Stop taking HTTP requests, let in-flight ones and fsyncs finish, close sockets and storage."""
        if self._stopping:
            return
        self._stopping = True
        bridge = getattr(self, "bridge", None)
        if bridge is not None:
            bridge.stopping = True
            self.state_machine.close_streams()  # so the HTTP server can drain
        if self._server is not None and self._server_task is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await self._server_task
        self._close_http_socket()
        connections = getattr(self, "connections", None)
        if connections is not None:
            await connections.stop()
        for actor in reversed(self._actors):
            try:
                await actor.stop()
            except Exception:
                log.exception("%s: stopping %s failed", self.node_id, actor.name)
        transport = getattr(self, "transport", None)
        if transport is not None:
            transport.close_sockets()  # also when start-up failed before the actors ran
        if self.storage is not None:
            with contextlib.suppress(Exception):
                await self.storage.close()
        log.info("%s: stopped", self.node_id)


def check_peer_security(opts: NodeOptions) -> None:
    """PeerKeyError unless the peer port is loopback-only, keyed, or explicitly left open."""
    if opts.cluster_key is None and not opts.insecure_peers and not is_loopback(opts.raft_addr):
        raise PeerKeyError(
            f"--raft_addr {opts.raft_addr} is reachable from other machines: start every node with "
            "--cluster-key FILE (python cli.py keygen FILE), or pass --insecure-peers to accept "
            "unauthenticated peer traffic"
        )


def settle_garbage_collector() -> None:
    """Tune the collector of a node process once the node is up. Everything alive then (modules, the app,
    the recovered state) lives as long as the process: freezing it keeps the full collections from
    scanning it again each time, which halves their pauses (tens of ms under load, straight into the tail
    latency). Freezing never keeps anything alive: it only exempts these objects from cycle detection."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


async def run_node(options: NodeOptions) -> int:
    """A node process's main (cli.py node)."""
    return await Node(options).run(on_started=settle_garbage_collector)
