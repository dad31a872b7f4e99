from __future__ import annotations

import contextlib

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from actors.codec import (
    PROTOCOL_VERSION,
    ForwardFailed,
    ForwardJoin,
    ForwardRemove,
    ForwardReply,
    ForwardTransfer,
    ForwardWrite,
    FrameError,
    RaftFrame,
    Received,
    decode_frame,
    encode_frame,
)
from farm.results import Ok, Page, Rejected
from raft import codec as raft_codec
from raft.codec import packb

FRAMES = [
    ForwardWrite(7, b"\x93\x01\x02\x03", "key-1"),
    ForwardJoin(8, "node2", "127.0.0.1:9002"),
    ForwardRemove(9, "node3"),
    ForwardTransfer(10, "node2"),
    ForwardWrite(11, b"\x93\x01\x02\x03", "key-2", "viewer"),
    ForwardJoin(12, "node2", "127.0.0.1:9002", None),
    ForwardRemove(13, "node3", "admin"),
    ForwardTransfer(14, "node2", "operator"),
    ForwardReply(11, Ok({"id": "printer1", "company": "HP", "model": "L12"})),
    ForwardReply(12, Ok(None)),
    ForwardReply(13, Ok(Page([{"id": "a"}, {"id": "b"}], 5))),
    ForwardReply(14, Rejected("invalid_field", "id must not be empty", "id")),
    ForwardReply(15, Rejected("not_found", "no printer p9")),
    ForwardFailed(16, "not_leader", "node1"),
    ForwardFailed(17, "timeout"),
]


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: type(f).__name__)
def test_every_forward_frame_round_trips(frame: object) -> None:
    data = encode_frame(frame, "cluster-a", "127.0.0.1:9001")  # type: ignore[arg-type]
    assert decode_frame(data) == Received("cluster-a", "127.0.0.1:9001", frame)  # type: ignore[arg-type]


def test_a_page_stays_a_page() -> None:
    received = decode_frame(encode_frame(ForwardReply(1, Ok(Page([{"id": "x"}], 3))), "c", "a"))
    assert isinstance(received.frame, ForwardReply)
    assert isinstance(received.frame.outcome.value, Page)  # type: ignore[union-attr]
    assert received.frame.outcome.value.total == 3  # type: ignore[union-attr]


@pytest.mark.skipif(not hasattr(raft_codec, "encode_message"), reason="raft messages not landed yet")
def test_raft_frames_carry_raft_messages() -> None:
    from raft.messages import AppendEntries, RequestVote
    from raft.types import Entry

    for message in (
        AppendEntries("node1", "node2", 3, 4, 2, (Entry(2, 5, data=b"x"), Entry(3, 6)), 5),
        RequestVote("node1", "node2", 4, 6, 3, pre_vote=True),
    ):
        received = decode_frame(encode_frame(RaftFrame(message), "c", "127.0.0.1:9001"))
        assert received.frame == RaftFrame(message)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xc1",
        packb("hello"),
        packb([PROTOCOL_VERSION, "c", "a"]),
        packb([PROTOCOL_VERSION + 1, "c", "a", 2, 1, b"", "k"]),
        packb([PROTOCOL_VERSION, 5, "a", 2, 1, b"", "k"]),
        packb([PROTOCOL_VERSION, "c", "a", 99]),
        packb([PROTOCOL_VERSION, "c", "a", 2, -1, b"", "k"]),
        packb([PROTOCOL_VERSION, "c", "a", 2, 1, "not bytes", "k"]),
        packb([PROTOCOL_VERSION, "c", "a", 3, 1, "node2"]),
        packb([PROTOCOL_VERSION, "c", "a", 6, 1, [9, 1, 2]]),
        packb([PROTOCOL_VERSION, "c", "a", 6, 1, [0, 1, [[1], 2]]]),
        packb([PROTOCOL_VERSION, "c", "a", 7, 1, "because", None]),
        packb([PROTOCOL_VERSION, "c", "a", 7, 1, ["unhashable"], None]),
        packb([PROTOCOL_VERSION, "c", "a", 1, "not bytes"]),
        packb([PROTOCOL_VERSION, "c", "a", 1, b"x", b"y"]),
    ],
)
def test_malformed_frames_raise_frame_error(data: bytes) -> None:
    with pytest.raises(FrameError):
        decode_frame(data)


_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 20) | st.text(max_size=5) | st.binary(max_size=5),
    lambda inner: st.lists(inner, max_size=6),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_values, max_size=8))
def test_no_structured_garbage_escapes_as_another_exception(fields: list[object]) -> None:
    assume(hasattr(raft_codec, "decode_message") or not fields or fields[0] != 1)
    data = packb([PROTOCOL_VERSION, "c", "a", *fields])
    with contextlib.suppress(FrameError):
        decode_frame(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_only_ever_raise_frame_error(data: bytes) -> None:
    with contextlib.suppress(FrameError):
        decode_frame(data)
