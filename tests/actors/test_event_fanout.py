"""EventFanout: one encoding per event for every stream, bounded backlog and lag, explicit reset and drop."""

from __future__ import annotations

import asyncio
import json

import pytest

from actors import event_fanout
from actors.event_fanout import EventFanout, estimate_frame_size
from farm.results import Event
from httpapi.bridge import TooManyStreams
from httpapi.sse import encode_event


def event(index: int, size: int = 10, last: bool = True) -> Event:
    return Event(index, "printer.created", {"id": f"p{index}", "pad": "x" * size}, last)


def frames(data: bytes) -> list[dict[str, str]]:
    blocks = [block for block in data.decode().split("\n\n") if block]
    return [dict(line.split(": ", 1) for line in block.split("\n")) for block in blocks]


def publish(fanout: EventFanout, *indexes: int, size: int = 10) -> None:
    for index in indexes:
        fanout.publish(event(index, size))
    fanout.flush()


def read(stream, timeout: float = 0.01) -> bytes | None:
    return asyncio.run(stream.read(timeout))


def test_every_stream_gets_the_same_encoded_bytes() -> None:
    fanout = EventFanout()
    one, two = fanout.subscribe(0), fanout.subscribe(0)
    publish(fanout, 1)
    assert fanout._frames[0] is fanout._frames[-1]
    first, second = read(one), read(two)
    assert first == second
    assert [f["id"] for f in frames(first)] == ["1"]
    assert json.loads(frames(first)[0]["data"])["data"]["id"] == "p1"


def test_a_resume_point_older_than_the_backlog_gets_an_explicit_reset() -> None:
    fanout = EventFanout(backlog_events=5)
    publish(fanout, *range(1, 21))
    assert fanout.floor == 15
    got = frames(read(fanout.subscribe(3)))
    assert got[0]["event"] == "reset"
    assert json.loads(got[0]["data"])["oldest_index"] == 16
    assert [f["id"] for f in got[1:]] == ["16", "17", "18", "19", "20"]
    # a resume point the backlog still covers: no reset
    assert [f.get("event") for f in frames(read(fanout.subscribe(17)))] == ["printer.created"] * 3
    assert fanout.stats.resets == 1


def test_the_backlog_has_a_byte_budget_and_evicts_whole_indexes() -> None:
    fanout = EventFanout(backlog_bytes=4000)
    for index in range(1, 50):
        fanout.publish(event(index, size=500, last=False))
        fanout.publish(event(index, size=500))
        fanout.flush()
        assert fanout.backlog_size <= 4000
    kept = fanout._indexes[fanout._start :]
    assert kept[0] == fanout.floor + 1 and kept.count(kept[0]) == 2


def test_a_stream_that_falls_behind_ends_with_a_dropped_event() -> None:
    fanout = EventFanout(stream_lag=10)
    slow = fanout.subscribe(0)
    publish(fanout, *range(1, 6))
    assert len(frames(read(slow))) == 5  # keeps up so far
    publish(fanout, *range(6, 30))
    assert fanout.streams == 0 and fanout.stats.dropped == 1  # its slot is free at once
    last = frames(read(slow))
    assert [f["event"] for f in last] == ["dropped"]
    assert json.loads(last[0]["data"])["last_index"] == 5  # where to resume from
    assert read(slow) == b""


def test_the_cap_refuses_one_stream_more_and_a_closed_stream_frees_its_slot() -> None:
    fanout = EventFanout(max_streams=2)
    first, _second = fanout.subscribe(0), fanout.subscribe(0)
    with pytest.raises(TooManyStreams) as refused:
        fanout.subscribe(0)
    assert refused.value.retry_after > 0 and fanout.stats.refused == 1
    first.close()
    fanout.subscribe(0)
    assert fanout.streams == 2


def test_a_quiet_stream_times_out_and_wakes_on_publish() -> None:
    async def scenario() -> None:
        fanout = EventFanout()
        stream = fanout.subscribe(0)
        assert await stream.read(0.01) is None
        reader = asyncio.ensure_future(stream.read(5))
        await asyncio.sleep(0)
        publish(fanout, 1)
        assert [f["id"] for f in frames(await asyncio.wait_for(reader, 1))] == ["1"]
        fanout.close_all()
        assert await stream.read(1) == b""

    asyncio.run(scenario())


def test_a_resume_point_ahead_of_this_node_skips_what_the_client_has() -> None:
    fanout = EventFanout()
    stream = fanout.subscribe(3)
    publish(fanout, 1, 2, 3, 4)
    assert [f["id"] for f in frames(read(stream))] == ["4"]


def test_evicted_frames_are_released_not_only_skipped() -> None:
    """The byte budget bounds memory, not just what streams see: the frames lists are trimmed in bulk, so an
    evicted frame must not stay referenced until then (64 KiB events held ~120 MiB that way)."""
    fanout = EventFanout(backlog_bytes=1 << 20)
    for index in range(1, 400):
        publish(fanout, index, size=64 * 1024)
    held = sum(len(frame) for frame in fanout._frames)
    assert held == fanout.backlog_size <= 1 << 20
    # what is still kept reads as before
    got = frames(read(fanout.subscribe(fanout.floor)))
    assert [int(f["id"]) for f in got] == list(range(fanout.floor + 1, 400))


def test_publishing_with_no_stream_open_encodes_nothing_and_a_later_stream_gets_the_same_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A start-up replaying a long log publishes every entry's events with nobody listening: no JSON then.
    The first read encodes each event once, for every stream, into the very bytes encode_event gives."""
    calls: list[int] = []

    def counting(event: Event) -> bytes:
        calls.append(event.index)
        return encode_event(event)

    monkeypatch.setattr(event_fanout, "encode_event", counting)
    fanout = EventFanout()
    published = [event(index, last=index % 2 == 0) for index in range(1, 41)]
    for item in published:
        fanout.publish(item)
    fanout.flush()
    assert calls == []
    one, two = fanout.subscribe(0), fanout.subscribe(0)
    first, second = read(one), read(two)
    assert first == second == b"".join(encode_event(item) for item in published)
    assert sorted(calls) == list(range(1, 41))  # once per event, not once per stream
    # later streams and later reads reuse the encoded frames: still one encoding per event
    assert read(fanout.subscribe(10)) == b"".join(encode_event(item) for item in published[10:])
    assert len(calls) == 40


def test_unencoded_events_count_for_their_size_in_the_byte_budget() -> None:
    """Nobody reads, so nothing is encoded, yet big events are still evicted by the byte budget; what is kept
    reads back whole and the resume point before it gets a reset, never a silent gap."""
    fanout = EventFanout(backlog_bytes=256 * 1024)
    for index in range(1, 200):
        publish(fanout, index, size=16 * 1024)
    assert fanout.floor > 150
    assert fanout.backlog_size <= 256 * 1024
    got = frames(read(fanout.subscribe(1)))
    assert got[0]["event"] == "reset" and json.loads(got[0]["data"])["oldest_index"] == fanout.floor + 1
    assert [int(f["id"]) for f in got[1:]] == list(range(fanout.floor + 1, 200))
    # once read, the kept frames count for their real size
    kept = range(fanout.floor + 1, 200)
    assert fanout.backlog_size == sum(len(encode_event(event(index, 16 * 1024))) for index in kept)


def test_the_size_estimate_is_near_the_encoded_size() -> None:
    samples = [
        event(7),
        event(8, size=5000),
        Event(9, "filament.ledger", {"id": "f1", "grams": 12.5, "tags": ["a", "b"], "meta": {"k": "v" * 99}}),
    ]
    for item in samples:
        real = len(encode_event(item))
        assert real / 2 <= estimate_frame_size(item) <= real * 2, (item.type, real)
