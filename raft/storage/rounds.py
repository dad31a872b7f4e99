"""What one WAL record holds: a round, i.e. everything one group commit made durable with one fsync.

A round is the msgpack array `[MAGIC, seq, tag, obj, tag, obj, ...]`. Making the round the unit of framing
means a crash can only tear the last record as a whole: a record that fails its checksum and is followed by
a valid one was fsynced before it (rounds are written strictly one after the other), so it is corruption.
`seq` increases by one per round across segments, which exposes a missing segment. The magic string lets
recovery find a later valid round after a damaged one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from raft.codec import (
    CodecError,
    encode_entry,
    encode_hard_state,
    entry_from_obj,
    hard_state_from_obj,
    packb,
    unpackb,
)
from raft.types import Entry, EntryKind, HardState

MAGIC = "pfwal1"
MAGIC_BYTES = packb(MAGIC)  # how the magic appears right after the array header

ENTRY = 0  # obj: the codec's entry; an index at or below the last one first discards the suffix from there
HARD_STATE = 1  # obj: the codec's hard state; the newest one wins
LOG_RESET = (
    2  # obj: [index, term] of a snapshot the log did not reach or contradicted: the log restarts there
)


@dataclass(frozen=True, slots=True)
class LogReset:
    index: int
    term: int


Item = Entry | HardState | LogReset


class Round(NamedTuple):
    """A NamedTuple, not a dataclass: recovery builds one per round, a million at a big start-up."""

    seq: int
    items: tuple[Item, ...]


def entry_item(entry: Entry) -> bytes:
    return b"\x00" + encode_entry(entry)


def hard_state_item(state: HardState) -> bytes:
    return b"\x01" + encode_hard_state(state)


def reset_item(index: int, term: int) -> bytes:
    return b"\x02" + packb([index, term])


def _array_header(count: int) -> bytes:
    if count < 16:
        return bytes((0x90 | count,))
    if count < 1 << 16:
        return b"\xdc" + count.to_bytes(2, "big")
    return b"\xdd" + count.to_bytes(4, "big")


def round_payload(seq: int, items: list[bytes]) -> bytes:
    """Joins items already encoded by *_item (each is a tag and an object: two array elements)."""
    return b"".join((_array_header(2 + 2 * len(items)), MAGIC_BYTES, packb(seq), *items))


def decode_round(payload: bytes | memoryview) -> Round:
    obj = unpackb(payload)
    if not isinstance(obj, list) or len(obj) < 2 or len(obj) % 2 or obj[0] != MAGIC:
        raise CodecError("not a WAL round")
    seq = obj[1]
    if type(seq) is not int or seq < 1:
        raise CodecError(f"round sequence number {seq!r} is not a positive integer")
    return Round(seq, tuple(map(_item, obj[2::2], obj[3::2])))


_KINDS = {int(kind): kind for kind in EntryKind}


def _item(tag: Any, obj: Any) -> Item:
    if tag == ENTRY:
        # The common shape checked inline (replay decodes every entry of the log at start-up); anything
        # else goes through the codec's own checks, which accept or refuse it with their message.
        if type(obj) is list and len(obj) == 4:
            term, index, kind, data = obj
            if (
                type(term) is int
                and term >= 0
                and type(index) is int
                and index >= 0
                and type(kind) is int
                and type(data) is bytes
                and (entry_kind := _KINDS.get(kind)) is not None
            ):
                return Entry(term, index, entry_kind, data)
        return entry_from_obj(obj)
    if tag == HARD_STATE:
        return hard_state_from_obj(obj)
    if tag == LOG_RESET:
        if not isinstance(obj, list) or len(obj) != 2 or not all(type(v) is int and v >= 0 for v in obj):
            raise CodecError("log reset: expected [index, term]")
        return LogReset(obj[0], obj[1])
    raise CodecError(f"unknown WAL item tag {tag!r}")
