from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import zmq

from actors.codec import ForwardJoin, ForwardReply, ForwardWrite, RaftFrame, Received, decode_frame
from actors.transport import Transport
from farm.results import Ok
from raft.messages import Heartbeat, HeartbeatResponse, RequestVote


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    def __init__(self) -> None:
        self.frames: list[tuple[str, Received]] = []

    def __call__(self, sender: str, received: Received) -> None:
        self.frames.append((sender, received))


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


def make(node_id: str, inbox: Inbox, cluster_id: str | None = "c1", **kwargs: Any) -> Transport:
    transport = Transport(node_id, f"127.0.0.1:{free_port()}", cluster_id=cluster_id, deliver=inbox, **kwargs)
    transport.start()
    return transport


async def send_until_delivered(sender: Transport, to: str, frame: Any, inbox: Inbox, count: int = 1) -> None:
    # IMMEDIATE drops frames until the TCP connection is up: the first sends may be counted as dropped
    async with asyncio.timeout(5):
        while len(inbox.frames) < count:
            sender.post(to, frame)
            await asyncio.sleep(0.01)


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 15))


def members(*transports: Transport, extra: dict[str, str] | None = None) -> None:
    """Give each transport the same configuration: all of them (and `extra`) are members."""
    addresses = {t.node_id: t.raft_addr for t in transports} | (extra or {})
    for transport in transports:
        transport.set_peers(addresses)


def test_frames_flow_both_ways_with_the_sender_identity() -> None:
    async def scenario() -> None:
        inbox_a, inbox_b = Inbox(), Inbox()
        a, b = make("a", inbox_a), make("b", inbox_b)
        a.set_peers({"a": a.raft_addr, "b": b.raft_addr})
        b.set_peers({"a": a.raft_addr, "b": b.raft_addr})
        await send_until_delivered(a, "b", ForwardWrite(1, b"cmd", "k"), inbox_b)
        sender, received = inbox_b.frames[0]
        assert sender == "a" and received.frame == ForwardWrite(1, b"cmd", "k")
        assert received.reply_addr == a.raft_addr and received.cluster_id == "c1"
        await send_until_delivered(b, "a", ForwardReply(1, Ok(None)), inbox_a)
        assert inbox_a.frames[0][0] == "b"
        await a.stop()
        await b.stop()

    run(scenario())


def test_a_burst_of_one_batch_arrives_whole_and_in_order() -> None:
    async def scenario() -> None:
        inbox_a, inbox_b = Inbox(), Inbox()
        a, b = make("a", inbox_a), make("b", inbox_b)
        members(a, b)
        await send_until_delivered(a, "b", ForwardJoin(0, "warmup", "x"), inbox_b)
        for request_id in range(1, 2001):
            assert a.post("b", ForwardJoin(request_id, "n", "x"))
        await until(lambda: len(inbox_b.frames) >= 2001)
        ids = [received.frame.request_id for _, received in inbox_b.frames[1:]]  # type: ignore[union-attr]
        assert ids == list(range(1, 2001))
        await a.stop()
        await b.stop()

    run(scenario())


def test_foreign_cluster_and_garbage_are_dropped_and_counted() -> None:
    async def scenario() -> None:
        inbox = Inbox()
        b = make("b", inbox)
        stranger = make("x", Inbox(), cluster_id="other")
        members(b, stranger, extra={"raw": "127.0.0.1:1", "g": "127.0.0.1:1"})
        raw = zmq.Context.instance().socket(zmq.DEALER)
        raw.setsockopt(zmq.IDENTITY, b"raw")
        raw.setsockopt(zmq.LINGER, 0)
        raw.connect(f"tcp://{b.raft_addr}")
        async with asyncio.timeout(5):
            while b.stats.dropped_foreign == 0 or b.stats.dropped_malformed < 2:
                stranger.post("b", ForwardJoin(1, "n", "x"))
                raw.send(b"\xc1garbage", zmq.NOBLOCK)
                raw.send_multipart([b"two", b"parts"], zmq.NOBLOCK)
                await asyncio.sleep(0.01)
        assert inbox.frames == []
        assert b.running  # nothing crashed
        good = make("g", Inbox())
        good.set_peers({"b": b.raft_addr, "g": good.raft_addr})
        await send_until_delivered(good, "b", ForwardJoin(2, "n", "x"), inbox)
        raw.close()
        for transport in (b, stranger, good):
            await transport.stop()

    run(scenario())


def test_a_node_being_joined_hears_only_the_leader_and_adopts_the_cluster_id_once_a_member() -> None:
    async def scenario() -> None:
        adopted: list[str] = []
        inbox_fresh, inbox_leader = Inbox(), Inbox()
        fresh = make("fresh", inbox_fresh, cluster_id=None, adopt_cluster_id=adopted.append)
        leader = make("leader", inbox_leader)
        stray = make("stray", Inbox(), cluster_id="other")
        members(leader, extra={"fresh": fresh.raft_addr})
        stray.set_peers({"fresh": fresh.raft_addr, "stray": stray.raft_addr})
        assert fresh.joining
        # the first frame to arrive is not a join: a stray request and a stray vote change nothing
        async with asyncio.timeout(5):
            while fresh.stats.dropped_not_a_member < 2:
                stray.post("fresh", ForwardJoin(1, "n", "x"))
                stray.post("fresh", RaftFrame(RequestVote("stray", "fresh", 9, 0, 0)))
                await asyncio.sleep(0.01)
        assert inbox_fresh.frames == [] and adopted == [] and fresh.cluster_id is None
        # the leader that added us replicates to us: heard, answered in its cluster's id, not adopted yet
        heartbeat = RaftFrame(Heartbeat("leader", "fresh", 3, 0))
        await send_until_delivered(leader, "fresh", heartbeat, inbox_fresh)
        assert adopted == [] and fresh.cluster_id is None
        assert fresh.address_of("leader") == leader.raft_addr
        answer = RaftFrame(HeartbeatResponse("fresh", "leader", 3))
        await send_until_delivered(fresh, "leader", answer, inbox_leader)
        assert inbox_leader.frames[0][1].cluster_id == "c1"
        # once the leader's snapshot made us a member, the first member to speak tells us the cluster id
        fresh.set_peers({"leader": leader.raft_addr, "fresh": fresh.raft_addr})
        assert not fresh.joining
        await send_until_delivered(leader, "fresh", heartbeat, inbox_fresh, count=len(inbox_fresh.frames) + 1)
        assert adopted == ["c1"] and fresh.cluster_id == "c1"
        for transport in (fresh, leader, stray):
            await transport.stop()

    run(scenario())


def test_unknown_peer_and_dead_peer_drop_and_count_without_blocking() -> None:
    async def scenario() -> None:
        a = make("a", Inbox())
        assert not a.post("nobody", ForwardJoin(1, "n", "x"))
        assert a.stats.dropped_no_route == 1
        a.set_peers({"dead": f"127.0.0.1:{free_port()}"})
        for request_id in range(100):
            assert a.post("dead", ForwardJoin(request_id, "n", "x"))  # queued for this loop turn
        a.flush()  # no live connection (IMMEDIATE): the whole batch drops, counted, without blocking
        assert a.stats.dropped_send_full == 100
        await a.stop()

    run(scenario())


def test_an_address_override_reroutes_one_peer() -> None:
    async def scenario() -> None:
        inbox_real, inbox_proxy = Inbox(), Inbox()
        real = make("b", inbox_real)
        proxy = make("b", inbox_proxy)  # stands in for a TCP proxy in front of "b"
        a = make("a", Inbox(), overrides={"b": proxy.raft_addr})
        members(a, real)
        proxy.set_peers({"a": a.raft_addr, "b": proxy.raft_addr})
        await send_until_delivered(a, "b", ForwardJoin(1, "n", "x"), inbox_proxy)
        assert inbox_real.frames == []
        for transport in (real, proxy, a):
            await transport.stop()

    run(scenario())


def test_changing_a_peer_address_reconnects() -> None:
    async def scenario() -> None:
        inbox_one, inbox_two = Inbox(), Inbox()
        one, two = make("b", inbox_one), make("b", inbox_two)
        a = make("a", Inbox())
        for b in (one, two):
            b.set_peers({"a": a.raft_addr, "b": b.raft_addr})
        a.set_peers({"b": one.raft_addr})
        await send_until_delivered(a, "b", ForwardJoin(1, "n", "x"), inbox_one)
        a.set_peers({"b": two.raft_addr})
        await send_until_delivered(a, "b", ForwardJoin(2, "n", "x"), inbox_two)
        a.set_peers({})
        assert not a.post("b", ForwardJoin(3, "n", "x"))
        for transport in (one, two, a):
            await transport.stop()

    run(scenario())


def test_posted_frames_of_one_loop_turn_leave_as_one_multipart_message() -> None:
    async def scenario() -> None:
        router = zmq.Context.instance().socket(zmq.ROUTER)
        router.setsockopt(zmq.LINGER, 0)
        port = router.bind_to_random_port("tcp://127.0.0.1")
        a = make("a", Inbox())
        a.set_peers({"b": f"127.0.0.1:{port}"})
        assert not a.post("nobody", ForwardJoin(0, "n", "x"))
        async with asyncio.timeout(5):
            while True:  # until the link is up, a flush may be dropped
                for request_id in (1, 2, 3):
                    assert a.post("b", ForwardJoin(request_id, "n", "x"))
                await asyncio.sleep(0.01)
                if router.poll(0):
                    break
        parts = router.recv_multipart()
        assert parts[0] == b"a" and len(parts) == 4
        assert [decode_frame(part).frame.request_id for part in parts[1:]] == [1, 2, 3]  # type: ignore[union-attr]
        router.close()
        await a.stop()

    run(scenario())


def test_a_multipart_batch_is_delivered_frame_by_frame() -> None:
    async def scenario() -> None:
        inbox_a, inbox_b = Inbox(), Inbox()
        a, b = make("a", inbox_a), make("b", inbox_b)
        members(a, b)
        await send_until_delivered(a, "b", ForwardJoin(0, "warmup", "x"), inbox_b)
        for request_id in range(1, 101):
            a.post("b", ForwardJoin(request_id, "n", "x"))
        await until(lambda: len(inbox_b.frames) >= 101)
        ids = [received.frame.request_id for _, received in inbox_b.frames[1:]]  # type: ignore[union-attr]
        assert ids == list(range(1, 101))
        assert b.stats.dropped_malformed == 0
        await a.stop()
        await b.stop()

    run(scenario())
