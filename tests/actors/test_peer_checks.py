"""What a peer sends is bounded and checked before it costs anything: frame limits, member checks, links
only for members, forwarded answers only from the asked peer, CurveZMQ with the cluster key."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import pytest
import zmq

from actors import peer_key
from actors.codec import (
    ForwardRemove,
    ForwardReply,
    ForwardWrite,
    FrameError,
    FrameTooLarge,
    RaftFrame,
    decode_frame,
    encode_frame,
)
from actors.frame_limits import MAX_ENTRY_BYTES, MAX_FRAME_BYTES, max_frame_bytes
from actors.http_bridge import HttpBridgeActor
from actors.transport import MAX_JOINING_LINKS, RELINK_AFTER
from farm.results import Ok
from raft.codec import packb
from raft.config import RaftConfig
from raft.messages import AppendEntries, Heartbeat, InstallSnapshot
from raft.types import Entry, EntryKind, Member, Membership
from tests.actors.test_transport import Inbox, make, members, run, send_until_delivered
from tests.support.fixtures import needs_curve

BIG_TERM = 2**63
LONG_ID = "n" * 128


def raw_dealer(identity: bytes, addr: str, **options: Any) -> zmq.Socket:
    dealer = zmq.Context.instance().socket(zmq.DEALER)
    dealer.setsockopt(zmq.IDENTITY, identity)
    dealer.setsockopt(zmq.LINGER, 0)
    for name, value in options.items():
        dealer.setsockopt(getattr(zmq, name), value)
    dealer.connect(f"tcp://{addr}")
    return dealer


def send_raw(dealer: zmq.Socket, *frames: bytes) -> None:
    with contextlib.suppress(zmq.Again):  # not connected (yet, or ever): the point of some tests
        dealer.send_multipart(list(frames), zmq.NOBLOCK)


# --- frame limits ------------------------------------------------------------------------------------


def largest_append(entry_sizes: list[int]) -> AppendEntries:
    entries = tuple(
        Entry(BIG_TERM, BIG_TERM - len(entry_sizes) + offset, EntryKind.NORMAL, b"x" * size)
        for offset, size in enumerate(entry_sizes, start=1)
    )
    return AppendEntries(LONG_ID, LONG_ID, BIG_TERM, BIG_TERM - len(entry_sizes), BIG_TERM, entries, BIG_TERM)


def test_the_largest_legitimate_frames_fit_under_the_limit() -> None:
    config = RaftConfig(node_id="n1")
    per_entry = config.max_append_bytes // config.max_append_entries
    batches = [
        largest_append([per_entry] * config.max_append_entries),  # a full batch of small entries
        largest_append([MAX_ENTRY_BYTES]),  # one entry as large as the bridge lets a proposal be
    ]
    membership = Membership(tuple(Member(f"{i}{LONG_ID}", "h" * 253 + ":65535", True) for i in range(9)))
    chunk = InstallSnapshot(
        LONG_ID, LONG_ID, BIG_TERM, BIG_TERM, BIG_TERM, membership, 2**40, b"s" * 256 * 1024, False
    )
    frames = [RaftFrame(message) for message in (*batches, chunk)]
    frames.append(ForwardWrite(2**64 - 1, b"c" * (MAX_ENTRY_BYTES - 4096), "k" * 128))
    for frame in frames:
        data = encode_frame(frame, "c" * 32, "some-host.example.org:65535")
        assert len(data) <= MAX_FRAME_BYTES
        assert decode_frame(data).frame == frame
    assert 2 * config.max_append_bytes > MAX_FRAME_BYTES  # and not much more: 64 MiB were accepted before


def test_the_limit_follows_the_raft_configuration() -> None:
    bigger = RaftConfig(node_id="n1", max_append_bytes=8 << 20)
    assert max_frame_bytes(bigger) > 8 << 20 > MAX_FRAME_BYTES


def test_a_frame_over_the_limit_is_refused_before_decoding() -> None:
    amplification = b"\xdd" + (16 << 20).to_bytes(4, "big") + b"\x90" * (16 << 20)  # 16 Mi empty arrays
    with pytest.raises(FrameTooLarge):
        decode_frame(amplification)


def test_unpacker_limits_refuse_an_amplifying_frame_within_the_size_limit() -> None:
    count = MAX_FRAME_BYTES - 16
    within = b"\xdd" + count.to_bytes(4, "big") + b"\x90" * count  # ~1 Mi empty arrays
    with pytest.raises(FrameError):
        decode_frame(within)
    header = [1, "c", "a", 1]  # a raft frame whose payload is the same trick
    payload = b"\xdd" + (100_000).to_bytes(4, "big") + b"\x90" * 100_000
    with pytest.raises(FrameError):
        decode_frame(packb([*header, payload]))


# --- member checks -----------------------------------------------------------------------------------


def test_frames_from_a_non_member_are_dropped_before_decoding_and_counted() -> None:
    async def scenario() -> None:
        inbox = Inbox()
        b = make("b", inbox)
        a = make("a", Inbox())
        members(a, b)
        intruder = raw_dealer(b"intruder", b.raft_addr)
        forged = encode_frame(RaftFrame(Heartbeat("intruder", "b", 99, 0)), "c1", "127.0.0.1:1")
        remove = encode_frame(ForwardRemove(1, "a"), "c1", "127.0.0.1:1")
        write = encode_frame(ForwardWrite(2, b"\x93\x01\x02\x03", "k"), "c1", "127.0.0.1:1")
        async with asyncio.timeout(5):
            while b.stats.dropped_not_a_member < 5:
                send_raw(intruder, forged, b"\xc1 garbage", remove, write, forged)
                await asyncio.sleep(0.01)
        assert b.stats.dropped_malformed == 0  # never decoded
        assert inbox.frames == [] and b.links() == {"a"}
        await send_until_delivered(a, "b", RaftFrame(Heartbeat("a", "b", 1, 0)), inbox)
        intruder.close()
        await a.stop()
        await b.stop()

    run(scenario())


def test_a_second_connection_under_a_members_id_is_not_heard() -> None:
    async def scenario() -> None:
        inbox = Inbox()
        b = make("b", inbox)
        a = make("a", Inbox())
        members(a, b)
        await send_until_delivered(a, "b", RaftFrame(Heartbeat("a", "b", 1, 0)), inbox)
        hijacker = raw_dealer(b"a", b.raft_addr)
        forged = encode_frame(RaftFrame(Heartbeat("a", "b", 99, 0)), "c1", "127.0.0.1:1")
        for _ in range(50):
            send_raw(hijacker, forged)
            await asyncio.sleep(0.01)
        await send_until_delivered(a, "b", RaftFrame(Heartbeat("a", "b", 2, 0)), inbox, count=2)
        assert all(received.frame.message.term < 99 for _, received in inbox.frames)
        hijacker.close()
        await a.stop()
        await b.stop()

    run(scenario())


def test_invented_sender_ids_open_no_links() -> None:
    async def scenario() -> None:
        member = make("b", Inbox())
        joining = make("j", Inbox(), cluster_id=None)  # not a member of anything yet
        member.set_peers({"b": member.raft_addr})
        for target in (member, joining):
            for number in range(60):
                sender = f"ghost{number}"
                frame = encode_frame(
                    RaftFrame(Heartbeat(sender, target.node_id, 5, 0)), "c1", f"127.0.0.1:{20000 + number}"
                )
                dealer = raw_dealer(sender.encode(), target.raft_addr)
                send_raw(dealer, frame)
                await asyncio.sleep(0.01)
                dealer.close()
        assert member.links() == set()
        assert 0 < len(joining.links()) <= MAX_JOINING_LINKS
        await member.stop()
        await joining.stop()

    run(scenario())


def test_a_link_whose_peer_stays_silent_is_opened_again() -> None:
    async def scenario() -> None:
        a = make("a", Inbox())
        a.set_peers({"a": a.raft_addr, "b": "127.0.0.1:9", "c": "127.0.0.1:9"})
        first = a._dealers["b"][1]
        a.post("b", RaftFrame(Heartbeat("a", "b", 1, 0)))  # sent to b, not to c
        a.flush()
        now = time.monotonic()
        assert a.relink_silent_peers(now) == []  # not silent for long yet
        a.post("b", RaftFrame(Heartbeat("a", "b", 1, 0)))
        a.flush()
        assert a.relink_silent_peers(now + RELINK_AFTER + 1) == ["b"]
        assert a._dealers["b"][1] is not first and first.closed
        assert a.relink_silent_peers(now + 2 * RELINK_AFTER + 2) == []  # nothing sent since
        await a.stop()

    run(scenario())


# --- forwarded requests -------------------------------------------------------------------------------


def test_a_forwarded_answer_counts_only_from_the_peer_asked_and_ids_are_unguessable() -> None:
    async def scenario() -> None:
        bridge = HttpBridgeActor("n1", None, None, None, None, None)  # type: ignore[arg-type]
        ids = {bridge._new_request_id() for _ in range(1000)}
        assert len(ids) == 1000 and max(ids) > 2**48
        request_id = next(iter(ids))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        bridge._forwards[request_id] = ("leader", future)
        bridge.peer_answered("impostor", ForwardReply(request_id, Ok("forged")))
        assert not future.done()
        bridge.peer_answered("leader", ForwardReply(request_id, Ok("real")))
        assert future.result() == Ok("real")

    run(scenario())


# --- CurveZMQ ----------------------------------------------------------------------------------------


@needs_curve
def test_the_key_file_round_trips_with_mode_0600_and_refuses_to_overwrite(tmp_path: Path) -> None:
    key = peer_key.generate()
    path = tmp_path / "cluster.key"
    peer_key.write(path, key)
    assert path.stat().st_mode & 0o777 == 0o600 and not peer_key.readable_by_others(path)
    assert peer_key.load(path) == key
    with pytest.raises(peer_key.PeerKeyError, match="--force"):
        peer_key.write(path, peer_key.generate())
    path.chmod(0o644)
    assert peer_key.readable_by_others(path)
    peer_key.write(path, other := peer_key.generate(), force=True)
    assert peer_key.load(path) == other and path.stat().st_mode & 0o777 == 0o600
    assert key.secret.decode() not in repr(key)


@needs_curve
@pytest.mark.parametrize(
    "content, problem",
    [
        ("hello\n", "not a cluster key file"),
        ("public = abc\nsecret = def\n", "40 Z85 characters"),
        (None, "does not belong"),
    ],
)
def test_a_bad_key_file_is_refused_with_the_reason(tmp_path: Path, content: str | None, problem: str) -> None:
    path = tmp_path / "bad.key"
    if content is None:  # two halves of different keys
        one, two = peer_key.generate(), peer_key.generate()
        content = f"public = {one.public.decode()}\nsecret = {two.secret.decode()}\n"
    path.write_text(content)
    with pytest.raises(peer_key.PeerKeyError, match=problem):
        peer_key.load(path)
    with pytest.raises(peer_key.PeerKeyError, match="cannot read"):
        peer_key.load(tmp_path / "missing.key")


@pytest.mark.parametrize(
    "addr, loopback",
    [("127.0.0.1:9001", True), ("localhost:9001", True), ("[::1]:9001", True), ("tcp://127.0.0.5:1", True),
     ("0.0.0.0:9001", False), ("10.0.0.5:9001", False), ("node1.example.org:9001", False), ("*:9001", False)],
)  # fmt: skip
def test_only_loopback_addresses_may_go_without_a_key(addr: str, loopback: bool) -> None:
    assert peer_key.is_loopback(addr) is loopback


@needs_curve
def test_keyed_links_carry_frames_and_strangers_cannot_connect() -> None:
    async def scenario() -> None:
        key, wrong = peer_key.generate(), peer_key.generate()
        inbox = Inbox()
        b = make("b", inbox, cluster_key=key)
        a = make("a", Inbox(), cluster_key=key)
        outsider = make("x", Inbox(), cluster_key=wrong)  # another cluster's key
        keyless = make("y", Inbox())
        members(a, b, outsider, keyless)  # even as "members", they cannot get a frame through
        # a client that knows the server key but holds another keypair: ZAP refuses it
        impostor_keys = zmq.curve_keypair()
        impostor = raw_dealer(
            b"a", b.raft_addr, CURVE_SERVERKEY=key.public, CURVE_PUBLICKEY=impostor_keys[0],
            CURVE_SECRETKEY=impostor_keys[1],
        )  # fmt: skip
        heartbeat = RaftFrame(Heartbeat("a", "b", 1, 0))
        await send_until_delivered(a, "b", heartbeat, inbox)
        async with asyncio.timeout(5):
            while b.stats.dropped_unauthenticated == 0:
                for stranger in (outsider, keyless):
                    stranger.post("b", RaftFrame(Heartbeat(stranger.node_id, "b", 99, 0)))
                send_raw(impostor, encode_frame(RaftFrame(Heartbeat("a", "b", 99, 0)), "c1", "x:1"))
                await asyncio.sleep(0.02)
        for _ in range(20):
            for stranger in (outsider, keyless):
                stranger.post("b", RaftFrame(Heartbeat(stranger.node_id, "b", 99, 0)))
            await asyncio.sleep(0.01)
        assert [received.frame.message.sender for _, received in inbox.frames] == ["a"] * len(inbox.frames)
        assert b.stats.dropped_malformed == b.stats.dropped_not_a_member == 0  # nothing reached Python
        impostor.close()
        for transport in (a, b, outsider, keyless):
            await transport.stop()

    run(scenario())


def test_an_oversized_part_disconnects_its_sender_before_any_is_buffered() -> None:
    async def scenario() -> None:
        inbox = Inbox()
        b = make("b", inbox)
        b.set_peers({"b": b.raft_addr, "big": "127.0.0.1:9"})
        big = raw_dealer(b"big", b.raft_addr)
        send_raw(big, b"\x90" * (MAX_FRAME_BYTES + 1))
        for _ in range(30):
            await asyncio.sleep(0.01)
        assert inbox.frames == []
        assert b.stats.dropped_too_large == b.stats.dropped_malformed == 0  # ZeroMQ refused it, not us
        big.close()
        await b.stop()

    run(scenario())


def test_the_transport_checks_the_size_again_before_decoding() -> None:
    async def scenario() -> None:
        b = make("b", Inbox(), max_frame_bytes=1024)
        b.set_peers({"b": b.raft_addr, "a": "127.0.0.1:9"})
        b._accept([b"a", b"\x90" * 2048])
        assert b.stats.dropped_too_large == 1
        await b.stop()

    run(scenario())



def test_a_member_being_removed_is_heard_until_its_removal_commits() -> None:
    async def scenario() -> None:
        inbox = Inbox()
        follower = make("f", inbox)
        leader = make("l", Inbox())
        everyone = {"f": follower.raft_addr, "l": leader.raft_addr}
        members(follower, leader)
        follower.set_committed_peers(everyone)
        follower.set_peers({"f": follower.raft_addr})  # "remove l" appended, not committed
        assert follower.is_member("l") and "l" in follower.links()  # its acks must reach it
        await send_until_delivered(leader, "f", RaftFrame(Heartbeat("l", "f", 1, 0)), inbox)
        follower.set_committed_peers({"f": follower.raft_addr})  # committed: l is gone
        assert not follower.is_member("l") and "l" not in follower.links()
        before = follower.stats.dropped_not_a_member
        async with asyncio.timeout(5):
            while follower.stats.dropped_not_a_member == before:
                leader.post("f", RaftFrame(Heartbeat("l", "f", 1, 0)))
                await asyncio.sleep(0.01)
        await follower.stop()
        await leader.stop()

    run(scenario())
