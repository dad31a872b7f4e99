"""Messages survive the codec unchanged; anything malformed raises CodecError and nothing else."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raft import messages as m
from raft.codec import (
    CodecError,
    decode_conf_change,
    decode_message,
    decode_snapshot,
    encode_conf_change,
    encode_message,
    packb,
    unpackb,
)
from raft.types import ConfChange, ConfChangeKind, Entry, Member, Membership, Snapshot
from tests.raft.strategies import messages

scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | st.text(max_size=8)
msgpack_values = st.recursive(
    scalars | st.binary(max_size=8),
    lambda children: (
        st.lists(children, max_size=8) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=30,
)


def decodes_cleanly(data: bytes) -> None:
    try:
        message = decode_message(data)
    except CodecError:
        return
    assert type(message) in m.MESSAGE_TYPES


@settings(max_examples=300, deadline=None)
@given(messages())
def test_every_message_round_trips(message: m.Message) -> None:
    data = encode_message(message)
    assert decode_message(data) == message
    assert unpackb(data)[0] == type(message).TAG


def test_tags_are_stable_and_unique() -> None:
    assert [t.TAG for t in m.MESSAGE_TYPES] == list(range(1, 12))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_never_crash_the_decoder(data: bytes) -> None:
    decodes_cleanly(data)


@settings(max_examples=300, deadline=None)
@given(msgpack_values)
def test_random_msgpack_values_never_crash_the_decoder(value: object) -> None:
    decodes_cleanly(msgpack.packb(value, use_bin_type=True))


@settings(max_examples=300, deadline=None)
@given(messages(), st.data())
def test_corrupted_fields_are_rejected_or_still_well_typed(message: m.Message, data: st.DataObject) -> None:
    obj = unpackb(encode_message(message))
    position = data.draw(st.integers(0, len(obj) - 1))
    obj[position] = data.draw(msgpack_values)
    decodes_cleanly(packb(obj))
    truncated = encode_message(message)[: data.draw(st.integers(0, len(encode_message(message)) - 1))]
    with pytest.raises(CodecError):
        decode_message(truncated)


@pytest.mark.parametrize(
    "obj",
    [
        [],
        [99, "a", "b", 1],
        [9, "a", "b"],  # TimeoutNow lacks its term
        [9, "a", "b", -1],
        [9, "a", "b", True],
        [9, 1, "b", 1],
        [2, "a", "b", 1, 1, False],  # granted must be a boolean
        [3, "a", "b", 2, 0, 0, [[1, 2, 0, b""]], 0],  # entry index 2 does not follow prev_index 0
        [3, "a", "b", 2, 0, 0, [[3, 1, 0, b""]], 0],  # entry term above the message term
        [3, "a", "b", 2, 0, 1, [[2, 1, 0, b""], [1, 2, 0, b""]], 0],  # terms decrease
        [3, "a", "b", 2, 0, 0, [[1, 1, 7, b""]], 0],  # unknown entry kind
        [7, "a", "b", 1, 1, 1, [["n1", "x", 1]], 0, b"", True],  # voter flag must be a boolean
        [10, "a", "b", 1, "ctx"],  # ctx must be bytes
    ],
)
def test_malformed_messages_are_named_clearly(obj: list[object]) -> None:
    with pytest.raises(CodecError):
        decode_message(packb(obj))


def test_non_bytes_and_non_messages_are_refused() -> None:
    with pytest.raises(CodecError):
        decode_message("not bytes")  # type: ignore[arg-type]
    with pytest.raises(CodecError):
        encode_message(Entry(1, 1))  # type: ignore[arg-type]


def test_memberships_and_changes_written_before_incarnations_still_decode() -> None:
    old_snapshot = packb([5, 2, [["n1", "a1", True], ["n2", "a2", False]], b"state"])
    assert decode_snapshot(old_snapshot) == Snapshot(
        5, 2, Membership((Member("n1", "a1", True, ""), Member("n2", "a2", False, ""))), b"state"
    )
    assert decode_conf_change(packb([2, "n2", ""])) == ConfChange(ConfChangeKind.REMOVE, "n2")
    change = ConfChange(ConfChangeKind.PROMOTE, "n2", "", "0123456789abcdef")
    assert decode_conf_change(encode_conf_change(change)) == change
    with pytest.raises(CodecError):
        decode_conf_change(packb([1, "n2", "", 7]))
