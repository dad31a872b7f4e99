"""ZeroMQ peer links: one bound ROUTER for everything we receive, one DEALER per peer for what we send.

The guide's "Harmony" pattern: each DEALER's identity is our node id, so the peer's ROUTER knows who
spoke. Sends never wait: a full or unconnected link drops the frame and counts it (Raft retransmits).
Only the receive task touches the ROUTER; DEALERs are plain sockets used from the event loop's thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import zmq
import zmq.asyncio

from actors.base import Actor
from actors.codec import FrameError, RaftFrame, Received, decode_frame, encode_frame

log = logging.getLogger(__name__)

Deliver = Callable[[str, Received], None]
RECEIVE_BATCH = 256  # frames handled per wake-up before yielding to the loop
MAX_FRAME_BYTES = 64 << 20


@dataclass(slots=True)
class TransportStats:
    sent: int = 0
    received: int = 0
    dropped_send_full: int = 0  # the peer's queue was at its high-water mark or not connected yet
    dropped_no_route: int = 0  # no address known for the recipient
    dropped_malformed: int = 0  # the frame did not decode
    dropped_foreign: int = 0  # another cluster's frame
    dropped_misrouted: int = 0  # sender identity or recipient did not match
    dropped_inbox_full: int = 0  # the receiving actor's mailbox was full

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def endpoint(addr: str) -> str:
    return addr if "://" in addr else f"tcp://{addr}"


class Transport(Actor):
    """Peer traffic for one node. deliver(sender_id, received) is called for every accepted frame."""

    def __init__(
        self,
        node_id: str,
        raft_addr: str,
        *,
        cluster_id: str | None,
        deliver: Deliver,
        adopt_cluster_id: Callable[[str], None] | None = None,
        overrides: Mapping[str, str] | None = None,
        hwm: int = 4096,
        supervisor: Any = None,
    ) -> None:
        super().__init__(f"{node_id}.transport", mailbox_size=1, supervisor=supervisor)
        self.node_id = node_id
        self.raft_addr = raft_addr
        self.cluster_id = cluster_id
        self.stats = TransportStats()
        self._deliver = deliver
        self._adopt = adopt_cluster_id
        self._overrides = dict(overrides or {})
        self._hwm = hwm
        self._identity = node_id.encode()
        self._context = zmq.asyncio.Context()
        self._router: zmq.asyncio.Socket | None = None
        self._members: dict[str, str] = {}
        self._learned: dict[str, str] = {}
        self._dealers: dict[str, tuple[str, zmq.Socket]] = {}
        self._outbox: dict[str, list[bytes]] = {}
        self._flush_scheduled = False

    # --- lifecycle ----------------------------------------------------------------------------------

    def bind(self) -> None:
        """Bind the ROUTER now (synchronously) so a taken port fails the start-up, not a background task."""
        router = self._context.socket(zmq.ROUTER)
        router.setsockopt(zmq.LINGER, 0)
        router.setsockopt(zmq.RCVHWM, self._hwm)
        router.setsockopt(zmq.ROUTER_HANDOVER, 1)  # a restarted peer reconnects under the same identity
        router.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME_BYTES)
        try:
            router.bind(endpoint(self.raft_addr))
        except zmq.ZMQError as exc:
            router.close(linger=0)
            raise OSError(f"cannot listen for peers on {self.raft_addr}: {exc.strerror}") from exc
        self._router = router

    async def on_start(self) -> None:
        if self._router is None:
            self.bind()
        self.spawn(self._receive(), "receive", forever=True)

    async def stop(self) -> None:
        await super().stop()  # the receive task is gone before its socket closes
        self.close_sockets()

    def close_sockets(self) -> None:
        if self._context.closed:
            return
        for _addr, dealer in self._dealers.values():
            dealer.close(linger=0)
        self._dealers.clear()
        self._outbox.clear()
        if self._router is not None:
            self._router.close(linger=0)
            self._router = None
        self._context.term()

    async def handle(self, message: Any) -> Any:
        raise TypeError(f"the transport takes no messages, got {message!r}")

    # --- addresses ----------------------------------------------------------------------------------

    def set_peers(self, addresses: Mapping[str, str]) -> None:
        """The membership's addresses (node id -> host:port); we connect to each, ourselves excepted."""
        self._members = {node: addr for node, addr in addresses.items() if node != self.node_id}
        self._reconcile()

    def address_of(self, node_id: str) -> str | None:
        return self._overrides.get(node_id) or self._members.get(node_id) or self._learned.get(node_id)

    def _learn(self, node_id: str, addr: str) -> None:
        if node_id == self.node_id or not addr or self._learned.get(node_id) == addr:
            return
        self._learned[node_id] = addr
        if node_id not in self._members:
            self._reconcile()

    def _reconcile(self) -> None:
        wanted = {node: self.address_of(node) for node in {*self._members, *self._learned, *self._dealers}}
        for node, addr in wanted.items():
            current = self._dealers.get(node)
            if current is not None and current[0] == addr:
                continue
            if current is not None:
                current[1].close(linger=0)
                del self._dealers[node]
            if addr is not None:
                self._dealers[node] = (addr, self._connect(addr))

    def _connect(self, addr: str) -> zmq.Socket:
        dealer = zmq.Socket(self._context, zmq.DEALER)
        dealer.setsockopt(zmq.IDENTITY, self._identity)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.setsockopt(zmq.SNDHWM, self._hwm)
        dealer.setsockopt(zmq.IMMEDIATE, 1)  # queue only on live connections: stale frames help nobody
        dealer.setsockopt(zmq.RECONNECT_IVL, 100)
        dealer.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
        dealer.setsockopt(zmq.HEARTBEAT_IVL, 1000)  # notice a silently dead link (e.g. through a proxy)
        dealer.setsockopt(zmq.HEARTBEAT_TIMEOUT, 5000)
        dealer.connect(endpoint(addr))
        return dealer

    # --- sending ------------------------------------------------------------------------------------

    def post(self, node_id: str, frame: Any) -> bool:
        """Queue one frame for `node_id`; every frame posted to a peer during this turn of the event loop
        leaves as one multipart message right after it (one wake-up of ZeroMQ's I/O thread for them all).
        False (and counted) only if no address is known; a full link drops and counts at the flush."""
        if node_id not in self._dealers:
            self.stats.dropped_no_route += 1
            return False
        box = self._outbox.get(node_id)
        if box is None:
            box = self._outbox[node_id] = []
            if not self._flush_scheduled:
                self._flush_scheduled = True
                asyncio.get_running_loop().call_soon(self.flush)
        box.append(encode_frame(frame, self.cluster_id or "", self.raft_addr))
        return True

    def flush(self) -> None:
        self._flush_scheduled = False
        outbox, self._outbox = self._outbox, {}
        for node_id, frames in outbox.items():
            link = self._dealers.get(node_id)
            if link is None:
                self.stats.dropped_no_route += len(frames)
                continue
            self._write(link[1], frames)

    def _write(self, dealer: zmq.Socket, frames: list[bytes]) -> bool:
        try:
            if len(frames) == 1:
                dealer.send(frames[0], zmq.NOBLOCK)
            else:
                dealer.send_multipart(frames, zmq.NOBLOCK)  # all parts or none
        except zmq.Again:
            self.stats.dropped_send_full += len(frames)
            return False
        self.stats.sent += len(frames)
        return True

    def send_raft(self, messages: Iterable[Any]) -> None:
        """All of one Ready's messages, with no await between them (coalesced per peer)."""
        for message in messages:
            self.post(message.recipient, RaftFrame(message))

    # --- receiving ----------------------------------------------------------------------------------

    async def _receive(self) -> None:
        """Frames are read by a reader callback on the ROUTER's file descriptor, in the loop turn that
        saw them arrive and straight into the actors' mailboxes: no future or task switch per batch, as
        zmq.asyncio's recv costs. This task only supervises: the callback failing ends it (a crash)."""
        router = self._router
        assert router is not None
        sock = zmq.Socket.shadow(router.underlying)
        fd = sock.getsockopt(zmq.FD)
        loop = asyncio.get_running_loop()
        failed: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            if failed.done():
                return
            try:
                if self._drain(sock):
                    loop.call_soon(readable)  # more are waiting: the rest of the loop runs first
            except BaseException as exc:
                failed.set_exception(exc)

        loop.add_reader(fd, readable)
        try:
            readable()  # what arrived before the reader was registered
            await failed
        finally:
            loop.remove_reader(fd)

    def _drain(self, sock: zmq.Socket) -> bool:
        """Accept up to a batch of messages; True if the batch ran out before the socket did. Reading
        until EAGAIN is also what re-arms ZeroMQ's edge-style FD for the next arrival."""
        for _ in range(RECEIVE_BATCH):
            try:
                parts = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return False
            self._accept(parts)
        return True

    def _accept(self, parts: list[bytes]) -> None:
        """[identity, frame, frame, ...]: a peer's frames of one event-loop turn arrive together."""
        if len(parts) < 2:
            self.stats.dropped_malformed += 1
            return
        try:
            sender = parts[0].decode()
        except UnicodeDecodeError:
            self.stats.dropped_malformed += len(parts) - 1
            return
        for payload in parts[1:]:
            self._accept_frame(sender, payload)

    def _accept_frame(self, sender: str, payload: bytes) -> None:
        try:
            received = decode_frame(payload)
        except FrameError:
            self.stats.dropped_malformed += 1
            return
        except Exception:  # a decoder bug must cost one frame, never the node
            log.exception("%s: undecodable frame from %r", self.node_id, sender)
            self.stats.dropped_malformed += 1
            return
        if not self._from_our_cluster(received.cluster_id):
            self.stats.dropped_foreign += 1
            return
        frame = received.frame
        if isinstance(frame, RaftFrame) and (
            frame.message.sender != sender or frame.message.recipient != self.node_id
        ):
            self.stats.dropped_misrouted += 1
            return
        self.stats.received += 1
        self._learn(sender, received.reply_addr)
        self._deliver(sender, received)

    def _from_our_cluster(self, cluster_id: str) -> bool:
        if self.cluster_id is not None:
            return cluster_id == self.cluster_id
        if not cluster_id:
            return False
        # a fresh node belongs to the first cluster that talks to it (the leader that joined it)
        log.info("%s: joining cluster %s", self.node_id, cluster_id)
        self.cluster_id = cluster_id
        if self._adopt is not None:
            self._adopt(cluster_id)
        return True
