"""Reading one WAL segment: its valid rounds, where they stop, and whether anything valid lies beyond."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import NamedTuple

from raft.codec import CodecError
from raft.storage.framing import HEADER, read_frame
from raft.storage.rounds import MAGIC_BYTES, Round, decode_round

SUFFIX = ".wal"


def segment_name(first_seq: int) -> str:
    return f"{first_seq:020d}{SUFFIX}"


def parse_segment_name(name: str) -> int | None:
    stem = name.removesuffix(SUFFIX)
    if name.endswith(SUFFIX) and len(stem) == 20 and stem.isdigit():
        return int(stem)
    return None


class ScannedRound(NamedTuple):
    offset: int
    round: Round


@dataclass(frozen=True, slots=True)
class Scan:
    rounds: list[ScannedRound]
    valid_end: int  # offset just after the last valid round
    damage: str | None  # why the bytes at valid_end are not a valid round (None: clean end of file)


def round_at(data: bytes, offset: int) -> tuple[Round, int] | str:
    framed = read_frame(data, offset)
    if isinstance(framed, str):
        return framed
    payload, end = framed
    try:
        return decode_round(payload), end
    except CodecError as exc:
        return f"checksum matches but the record does not decode ({exc})"


def scan(data: bytes) -> Scan:
    rounds: list[ScannedRound] = []
    offset, end = 0, len(data)
    view = memoryview(data)
    unpack, header_size, crc32 = HEADER.unpack_from, HEADER.size, zlib.crc32
    while offset < end:
        # The same checks as round_at, inline and without copying the payload: a start-up replays every
        # round of the log. Whatever fails them goes through round_at, which says why.
        if end - offset >= header_size:
            length, crc = unpack(data, offset)
            start = offset + header_size
            stop = start + length
            if length > 0 and stop <= end and crc32(view[start:stop]) == crc:
                try:
                    rounds.append(ScannedRound(offset, decode_round(view[start:stop])))
                    offset = stop
                    continue
                except CodecError:
                    pass
        found = round_at(data, offset)
        if isinstance(found, str):
            return Scan(rounds, offset, found)
        rounds.append(ScannedRound(offset, found[0]))  # not reached: the checks above agree with round_at
        offset = found[1]
    return Scan(rounds, offset, None)


def next_valid_round(data: bytes, after: int) -> int | None:
    """The offset of a valid round starting beyond `after`, found by the magic each round begins with."""
    position = data.find(MAGIC_BYTES, after + 1)
    while position != -1:
        for header_size in (1, 3, 5):  # msgpack array header: fixarray, array16, array32
            start = position - header_size - HEADER.size
            if start > after and not isinstance(round_at(data, start), str):
                return start
        position = data.find(MAGIC_BYTES, position + 1)
    return None
