"""ZeroMQ peer links: one bound ROUTER for everything we receive, one DEALER per peer for what we send.

The guide's "Harmony" pattern: each DEALER's identity is our node id, so the peer's ROUTER knows who
spoke. Sends never wait: a full or unconnected link drops the frame and counts it (Raft retransmits).
Only the receive task touches the ROUTER; DEALERs are plain sockets used from the event loop's thread.

What a peer sends is checked before it costs anything (shared/API.md, "Between nodes"):
- with a cluster key (actors/peer_key.py), every link is CurveZMQ and the ZAP handler (actors/zap.py)
  admits only holders of the key: nothing else completes a connection;
- a part larger than any frame a node sends is refused by ZeroMQ (MAXMSGSIZE) and again here, and msgpack
  decodes within limits (actors/frame_limits.py);
- ROUTER_HANDOVER is off: a connection cannot take over the identity of a connected member;
- the sender must be a member of the configurations the RaftActor last gave us (the latest, and the one
  as of the commit index: a member being removed speaks until its removal commits), checked on its
  identity before the frame is decoded; the one exception is a node that is not a member itself yet (being
  joined), which hears the leader-to-be's replication messages and nothing else, answers through at most
  MAX_JOINING_LINKS links, and adopts a cluster id only from a member once the leader has made it one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import zmq
import zmq.asyncio

from actors.base import Actor
from actors.codec import FrameError, FrameTooLarge, RaftFrame, Received, decode_frame, encode_frame
from actors.frame_limits import MAX_FRAME_BYTES
from actors.peer_key import ClusterKey
from actors.zap import ZAP_DOMAIN, ZapHandler
from raft.messages import AppendEntries, Heartbeat, InstallSnapshot

log = logging.getLogger(__name__)

Deliver = Callable[[str, Received], None]
RECEIVE_BATCH = 256  # frames handled per wake-up before yielding to the loop
# What a node that is not a member yet may hear from a non-member: the leader that is adding it replicates
# to it (its votes and everything else would come from members only).
FROM_LEADER_TO_NEW_MEMBER = (AppendEntries, Heartbeat, InstallSnapshot)
MAX_JOINING_LINKS = 4  # outbound links a node being joined opens to senders it does not know as members
# A link we send on while its peer stays silent this long is opened again. Without ROUTER_HANDOVER, a
# peer's ROUTER that still holds our previous connection (half-open after a partition) ignores the new one
# until that one is gone, and then still ignores it: only a fresh connection is heard again.
RELINK_AFTER = 6.0
LINK_CHECK_INTERVAL = 1.0


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
    dropped_not_a_member: int = 0  # the sender is not in our configuration (checked before decoding)
    dropped_too_large: int = 0  # larger than any frame a node sends (checked before decoding)
    dropped_unauthenticated: int = 0  # handshakes the ZAP handler refused (no cluster key)

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
        cluster_key: ClusterKey | None = None,
        max_frame_bytes: int = MAX_FRAME_BYTES,
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
        self._key = cluster_key
        self._zap: ZapHandler | None = None
        self._max_frame_bytes = max_frame_bytes
        self._current: dict[str, str] = {}  # the latest configuration (set_peers)
        self._committed: dict[str, str] = {}  # the configuration as of the commit index
        self._members: dict[str, str] = {}  # the other members of either (learners too) -> address
        self._is_member = False  # we are in that configuration (until then: being joined, or removed)
        self._learned: dict[str, str] = {}  # while not a member: the leader-to-be's address, at most a few
        self._learned_cluster: dict[str, str] = {}  # ... and its cluster id, which our answers carry
        self._dealers: dict[str, tuple[str, zmq.Socket]] = {}
        self._linked_at: dict[str, float] = {}  # when each DEALER was opened (monotonic)
        self._sent_to: set[str] = set()  # peers we sent to since the last link check
        self._heard_at: dict[str, float] = {}  # when each member's last frame was accepted
        self._outbox: dict[str, list[bytes]] = {}
        self._flush_scheduled = False

    # --- lifecycle ----------------------------------------------------------------------------------

    def bind(self) -> None:
        """Bind the ROUTER now (synchronously) so a taken port fails the start-up, not a background task."""
        router = self._context.socket(zmq.ROUTER)
        router.setsockopt(zmq.LINGER, 0)
        router.setsockopt(zmq.RCVHWM, self._hwm)
        # ROUTER_HANDOVER stays off (ZeroMQ's default): a second connection under a connected member's id is
        # ignored instead of taking its place. Heartbeats close a dead connection (a peer restarted or cut
        # off) so that the peer's next one is heard.
        router.setsockopt(zmq.ROUTER_HANDOVER, 0)
        router.setsockopt(zmq.HEARTBEAT_IVL, 1000)
        router.setsockopt(zmq.HEARTBEAT_TIMEOUT, 4000)
        router.setsockopt(zmq.MAXMSGSIZE, self._max_frame_bytes)  # larger: disconnected, never buffered
        if self._key is not None:
            if self._zap is None:  # bound before the ROUTER: no handshake may find it missing
                self._zap = ZapHandler(self._context, self._key.public, self._count_denied)
            router.setsockopt(zmq.CURVE_SERVER, 1)
            router.setsockopt(zmq.CURVE_SECRETKEY, self._key.secret)
            router.setsockopt(zmq.CURVE_PUBLICKEY, self._key.public)
            router.setsockopt(zmq.ZAP_DOMAIN, ZAP_DOMAIN)
            router.setsockopt(zmq.ZAP_ENFORCE_DOMAIN, 1)
        try:
            router.bind(endpoint(self.raft_addr))
        except zmq.ZMQError as exc:
            router.close(linger=0)
            raise OSError(f"cannot listen for peers on {self.raft_addr}: {exc.strerror}") from exc
        self._router = router

    async def on_start(self) -> None:
        if self._router is None:
            self.bind()
        if self._zap is not None:
            self._zap.start(asyncio.get_running_loop())
        self.spawn(self._receive(), "receive", forever=True)
        self.spawn(self._watch_links(), "links", forever=True)

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
        if self._zap is not None:
            self._zap.close()
        self._context.term()

    async def handle(self, message: Any) -> Any:
        raise TypeError(f"the transport takes no messages, got {message!r}")

    # --- members and addresses -----------------------------------------------------------------------

    def set_peers(self, addresses: Mapping[str, str]) -> None:
        """The current configuration (node id -> host:port, learners included, ourselves included when
        we are a member): whom we accept frames from and whom we open links to."""
        self._current = dict(addresses)
        self._update_members()

    def set_committed_peers(self, addresses: Mapping[str, str]) -> None:
        """The configuration as of the commit index, kept alongside the current one: a member whose removal
        is appended but not committed still leads or votes until it commits (Raft thesis §4.2.2)."""
        self._committed = dict(addresses)
        self._update_members()

    def _update_members(self) -> None:
        addresses = self._committed | self._current  # the current address wins
        self._members = {node: addr for node, addr in addresses.items() if node != self.node_id}
        self._is_member = self.node_id in addresses
        if self._is_member:
            self._learned.clear()
            self._learned_cluster.clear()
        for node in [node for node in self._heard_at if node not in self._members]:
            del self._heard_at[node]
        self._reconcile()

    def is_member(self, node_id: str) -> bool:
        return node_id in self._members

    def links(self) -> set[str]:
        """The peers we hold an outbound link (DEALER) to."""
        return set(self._dealers)

    @property
    def joining(self) -> bool:
        """True while we are not in our own configuration (a fresh node waiting to be joined)."""
        return not self._is_member

    def address_of(self, node_id: str) -> str | None:
        return self._overrides.get(node_id) or self._members.get(node_id) or self._learned.get(node_id)

    def _learn(self, node_id: str, addr: str, cluster_id: str) -> None:
        """While being joined: where the sender of a leader's message listens (at most a few of them), and
        the cluster id our answers to it carry (not ours until a member tells us, see _from_our_cluster)."""
        if not addr:
            return  # nowhere to answer
        self._learned_cluster[node_id] = cluster_id
        if self._learned.get(node_id) == addr:
            return
        self._learned.pop(node_id, None)
        self._learned[node_id] = addr
        while len(self._learned) > MAX_JOINING_LINKS:
            oldest = next(iter(self._learned))
            del self._learned[oldest]
            self._learned_cluster.pop(oldest, None)
        self._reconcile()

    def _cluster_id_for(self, node_id: str) -> str:
        if self.cluster_id is not None:
            return self.cluster_id
        return self._learned_cluster.get(node_id, "")

    def _reconcile(self) -> None:
        """Exactly one DEALER per member (and per learned address while joining), at its current address."""
        wanted = {node: self.address_of(node) for node in {*self._members, *self._learned}}
        for node in [node for node in self._dealers if node not in wanted]:
            self._close_link(node)
        for node, addr in wanted.items():
            current = self._dealers.get(node)
            if current is not None and current[0] == addr:
                continue
            if current is not None:
                self._close_link(node)
            if addr is not None:
                self._open_link(node, addr)

    def _open_link(self, node_id: str, addr: str) -> None:
        self._dealers[node_id] = (addr, self._connect(addr))
        self._linked_at[node_id] = time.monotonic()

    def _close_link(self, node_id: str) -> None:
        _addr, dealer = self._dealers.pop(node_id)
        dealer.close(linger=0)
        self._linked_at.pop(node_id, None)
        self._outbox.pop(node_id, None)

    async def _watch_links(self) -> None:
        while True:
            await asyncio.sleep(LINK_CHECK_INTERVAL)
            self.relink_silent_peers(time.monotonic())

    def relink_silent_peers(self, now: float) -> list[str]:
        """Open again each link we sent on whose peer has been silent for RELINK_AFTER seconds (Raft
        answers everything a node sends, so silence means a dead peer or a connection it ignores)."""
        relinked = []
        for node in sorted(self._sent_to & self._members.keys()):
            link = self._dealers.get(node)
            if link is None:
                continue
            since = max(self._linked_at.get(node, now), self._heard_at.get(node, 0.0))
            if now - since >= RELINK_AFTER:
                self._close_link(node)
                self._open_link(node, link[0])
                relinked.append(node)
        self._sent_to.clear()
        return relinked

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
        if self._key is not None:  # every node is the cluster's Curve server and client, with one keypair
            dealer.setsockopt(zmq.CURVE_SERVERKEY, self._key.public)
            dealer.setsockopt(zmq.CURVE_PUBLICKEY, self._key.public)
            dealer.setsockopt(zmq.CURVE_SECRETKEY, self._key.secret)
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
        box.append(encode_frame(frame, self._cluster_id_for(node_id), self.raft_addr))
        return True

    def flush(self) -> None:
        self._flush_scheduled = False
        outbox, self._outbox = self._outbox, {}
        for node_id, frames in outbox.items():
            link = self._dealers.get(node_id)
            if link is None:
                self.stats.dropped_no_route += len(frames)
                continue
            self._write(node_id, link[1], frames)

    def _write(self, node_id: str, dealer: zmq.Socket, frames: list[bytes]) -> bool:
        self._sent_to.add(node_id)
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
        member = sender in self._members
        if member:
            self._heard_at[sender] = time.monotonic()
        elif self._is_member:  # before decoding anything: a stranger costs one lookup
            self.stats.dropped_not_a_member += len(parts) - 1
            return
        for payload in parts[1:]:
            self._accept_frame(sender, payload, member)

    def _accept_frame(self, sender: str, payload: bytes, member: bool) -> None:
        try:
            received = decode_frame(payload, self._max_frame_bytes)
        except FrameTooLarge:
            self.stats.dropped_too_large += 1
            return
        except FrameError:
            self.stats.dropped_malformed += 1
            return
        except Exception:  # a decoder bug must cost one frame, never the node
            log.exception("%s: undecodable frame from %r", self.node_id, sender)
            self.stats.dropped_malformed += 1
            return
        if not self._from_our_cluster(received.cluster_id, adopt=member):
            self.stats.dropped_foreign += 1
            return
        frame = received.frame
        if isinstance(frame, RaftFrame) and (
            frame.message.sender != sender or frame.message.recipient != self.node_id
        ):
            self.stats.dropped_misrouted += 1
            return
        if not member:  # we are being joined: only the leader's replication, and we answer it
            if not (isinstance(frame, RaftFrame) and isinstance(frame.message, FROM_LEADER_TO_NEW_MEMBER)):
                self.stats.dropped_not_a_member += 1
                return
            self._learn(sender, received.reply_addr, received.cluster_id)
        self.stats.received += 1
        self._deliver(sender, received)

    def _from_our_cluster(self, cluster_id: str, *, adopt: bool) -> bool:
        if self.cluster_id is not None:
            return cluster_id == self.cluster_id
        if not cluster_id:
            return False
        if not adopt:
            return True  # being joined: the leader's messages reach Raft, its id is not ours yet
        # A node without a cluster id is a fresh one that a leader just made a member (its snapshot or log
        # named us, and so the sender): the first member to speak tells us the cluster's id.
        log.info("%s: joining cluster %s", self.node_id, cluster_id)
        self.cluster_id = cluster_id
        if self._adopt is not None:
            self._adopt(cluster_id)
        return True

    def _count_denied(self) -> None:
        self.stats.dropped_unauthenticated += 1
