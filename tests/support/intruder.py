"""A process on the same machine that reaches the raft ports and does its worst: garbage, frames built by
our own codec under members' and invented ids, the amplification frame, identity hijacking. Used by the
peer security tests against real clusters (tests/integration/test_peer_security.py)."""

from __future__ import annotations

import contextlib
import random
import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import zmq

from actors.codec import ForwardJoin, ForwardRemove, ForwardWrite, RaftFrame, encode_frame
from raft.messages import AppendEntries, Heartbeat, RequestVote
from raft.storage import identity
from raft.types import Entry, EntryKind
from tests.support.cluster import Cluster, Node

HIGH_TERM = 1_000_000
AMPLIFICATION = b"\xdd" + (16 << 20).to_bytes(4, "big") + b"\x90" * (16 << 20)  # 16 MiB of empty arrays


def cluster_id_of(node: Node) -> str:
    """An attacker on the wire reads the cluster id from any keyless frame; the test reads it from disk."""
    found = identity.load(node.data_dir)
    assert found is not None and found.cluster_id is not None
    return found.cluster_id


def forged_frames(sender: str, recipient: str, cluster_id: str, rng: random.Random) -> list[bytes]:
    """Frames as a member would send them (our codec), with terms and requests a member would not."""
    term = HIGH_TERM + rng.randrange(1000)
    entry = Entry(term, 10_000, EntryKind.NORMAL, b"\x93\x01\x02\x03")
    frames = [
        RaftFrame(Heartbeat(sender, recipient, term, 10_000)),
        RaftFrame(AppendEntries(sender, recipient, term, 9_999, term, (entry,), 10_000)),
        RaftFrame(RequestVote(sender, recipient, term, 10**9, term)),
        ForwardWrite(rng.randrange(2**63), b"\x93\x01\x02\x03", f"forged-{rng.random()}"),
        ForwardRemove(rng.randrange(2**63), recipient),
        ForwardJoin(rng.randrange(2**63), sender, "127.0.0.1:1"),
    ]
    return [encode_frame(frame, cluster_id, "127.0.0.1:1") for frame in frames]


def garbage(rng: random.Random) -> bytes:
    return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))


class Intruder:
    """Sockets to every raft port, opened and closed as the attack goes. curve: (server_key, public,
    secret) to talk CurveZMQ with a key of its own, else plain ZeroMQ."""

    def __init__(self, curve: tuple[bytes, bytes, bytes] | None = None, seed: int = 7) -> None:
        self.context = zmq.Context()
        self.curve = curve
        self.rng = random.Random(seed)
        self.sent = 0

    def dealer(self, identity_: str, addr: str) -> zmq.Socket:
        sock = self.context.socket(zmq.DEALER)
        sock.setsockopt(zmq.IDENTITY, identity_.encode())
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, 100)
        sock.setsockopt(zmq.RECONNECT_IVL, 20)
        if self.curve is not None:
            server_key, public, secret = self.curve
            sock.setsockopt(zmq.CURVE_SERVERKEY, server_key)
            sock.setsockopt(zmq.CURVE_PUBLICKEY, public)
            sock.setsockopt(zmq.CURVE_SECRETKEY, secret)
        sock.connect(f"tcp://{addr}")
        return sock

    def send(self, sock: zmq.Socket, parts: Sequence[bytes]) -> None:
        with contextlib.suppress(zmq.Again):
            sock.send_multipart(list(parts), zmq.NOBLOCK)
            self.sent += 1

    def flood(
        self, targets: Iterable[Node], member_ids: Sequence[str], cluster_id: str, seconds: float
    ) -> None:
        """Garbage and forged frames at every raft port, under members' ids and invented ones."""
        targets = list(targets)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            sockets = []
            for target in targets:
                for sender in (*member_ids, f"ghost{self.rng.randrange(10**6)}"):
                    sock = self.dealer(sender, target.raft_addr)
                    sockets.append(sock)
                    for _ in range(5):
                        self.send(sock, [garbage(self.rng)])
                        self.send(sock, forged_frames(sender, target.node_id, cluster_id, self.rng))
            time.sleep(0.05)
            for sock in sockets:
                sock.close(linger=0)

    def amplify(self, targets: Iterable[Node], member_ids: Sequence[str], rounds: int) -> None:
        """The 16 MiB frame of empty msgpack arrays, under every member's id and an invented one."""
        targets = list(targets)
        for _ in range(rounds):
            sockets = []
            for target in targets:
                for sender in (*member_ids, "ghost"):
                    sock = self.dealer(sender, target.raft_addr)
                    sockets.append(sock)
                    self.send(sock, [AMPLIFICATION])
            time.sleep(0.3)
            for sock in sockets:
                sock.close(linger=0)

    def hijack(
        self, targets: Iterable[Node], member_ids: Sequence[str], cluster_id: str, seconds: float
    ) -> None:
        """Reconnect under the members' ids again and again, each time claiming leadership at a high term."""
        targets = list(targets)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            sockets = []
            for target in targets:
                for sender in member_ids:
                    if sender == target.node_id:
                        continue
                    sock = self.dealer(sender, target.raft_addr)
                    sockets.append(sock)
                    term = HIGH_TERM + self.rng.randrange(1000)
                    heartbeat = RaftFrame(Heartbeat(sender, target.node_id, term, 0))
                    self.send(sock, [encode_frame(heartbeat, cluster_id, "127.0.0.1:1")])
            time.sleep(0.2)
            for sock in sockets:
                sock.close(linger=0)

    def invent(self, target: Node, cluster_id: str, count: int, batch: int = 50) -> None:
        """`count` invented sender ids, each sending what a leader would send to a node it just added."""
        for start in range(0, count, batch):
            sockets = []
            for number in range(start, min(start + batch, count)):
                sender = f"invented{number}"
                sock = self.dealer(sender, target.raft_addr)
                sockets.append(sock)
                reply_addr = f"127.0.0.1:{10000 + number}"
                frame = RaftFrame(Heartbeat(sender, target.node_id, 5, 0))
                self.send(sock, [encode_frame(frame, cluster_id, reply_addr)])
            time.sleep(0.1)
            for sock in sockets:
                sock.close(linger=0)

    def close(self) -> None:
        self.context.destroy(linger=0)


def snapshot_of(cluster: Cluster) -> dict[str, tuple[str | None, int, list[str]]]:
    """Per running node: (leader id, term, printers) as it reports them."""
    seen = {}
    for node in cluster.running():
        status = node.status()
        assert status is not None, node.node_id
        reply = node.get("/api/v1/printers?consistency=stale", timeout=5)
        seen[node.node_id] = (status["leader_id"], status["term"], sorted(p["id"] for p in reply.json()))
    return seen


def dropped(node: Node) -> dict[str, float]:
    """printfarm_peer_frames_dropped_total by reason, from the node's /metrics."""
    body = node.get("/metrics", timeout=5).text
    pattern = re.compile(r'^printfarm_peer_frames_dropped_total\{[^}]*reason="([a-z_]+)"[^}]*\} (\S+)$', re.M)
    return {reason: float(value) for reason, value in pattern.findall(body)}


def open_files(node: Node) -> int:
    assert node.process is not None
    return len(list(Path(f"/proc/{node.process.pid}/fd").iterdir()))
