"""Reading one WAL segment: its valid rounds, where they stop, and whether anything valid lies beyond."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class ScannedRound:
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
    offset = 0
    while offset < len(data):
        found = round_at(data, offset)
        if isinstance(found, str):
            return Scan(rounds, offset, found)
        rounds.append(ScannedRound(offset, found[0]))
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
