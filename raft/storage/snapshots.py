"""Snapshot files: `snap/<index>-<term>.snap`, written atomically, the newest valid one wins.

A file is `MAGIC, header, payload` and then a WAL floor: the WAL round count and hard state at the moment
it was written. Recovery uses the floor to tell a complete WAL from one whose segments were deleted or cut
short (which would forget the node's term and vote). Files written before the floor existed have none.

Corrupt files are never deleted: they are renamed aside (`*.corrupt`), with a log line naming them, so the
newest *valid* snapshots are the ones kept and an operator can look at what went wrong.
"""

from __future__ import annotations

import logging
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from raft.codec import CodecError, decode_snapshot, encode_snapshot, packb, unpackb
from raft.storage.files import atomic_write, sync_dir
from raft.types import HardState, Snapshot

log = logging.getLogger(__name__)

MAGIC = b"PFSNAP1\n"
HEADER = struct.Struct("<QI")  # payload length (u64: snapshots may outgrow a WAL record), crc32
FLOOR_MAGIC = b"PFFLOOR1"
SUFFIX = ".snap"
CORRUPT = ".corrupt"
# Valid snapshots kept: the newest is used; the one before it is the fallback if the newest turns out
# corrupt (the WAL is kept from the oldest kept snapshot on, so the fallback always has its log).
KEEP = 2


@dataclass(frozen=True, slots=True)
class WalFloor:
    """The WAL when the snapshot was written: every round below `next_round` was durable, and the newest
    hard state among them was `hard_state` (None: none yet)."""

    next_round: int
    hard_state: HardState | None


@dataclass(frozen=True, slots=True)
class Loaded:
    snapshot: Snapshot
    floor: WalFloor | None  # None: a file from before floors were recorded
    path: Path


def snapshot_name(index: int, term: int) -> str:
    return f"{index:020d}-{term:020d}{SUFFIX}"


def _position(path: Path) -> tuple[int, int] | None:
    index, _, term = path.name.removesuffix(SUFFIX).partition("-")
    if path.name.endswith(SUFFIX) and index.isdigit() and term.isdigit():
        return int(index), int(term)
    return None


def listed(directory: Path) -> list[tuple[tuple[int, int], Path]]:
    """Snapshot files, oldest first (files set aside as corrupt are not listed)."""
    found = [(position, path) for path in directory.iterdir() if (position := _position(path)) is not None]
    return sorted(found)


def write(directory: Path, snapshot: Snapshot, durations: list[float], floor: WalFloor | None = None) -> Path:
    payload = encode_snapshot(snapshot)
    path = directory / snapshot_name(snapshot.index, snapshot.term)
    chunks = [MAGIC, HEADER.pack(len(payload), zlib.crc32(payload)), payload]
    if floor is not None:
        hard_state = floor.hard_state
        record = packb([floor.next_round, None if hard_state is None else [hard_state.term, hard_state.vote]])
        chunks += [FLOOR_MAGIC, HEADER.pack(len(record), zlib.crc32(record)), record]
    atomic_write(path, chunks, durations)
    return path


def read(path: Path) -> Snapshot | str:
    """The snapshot in `path`, or a sentence saying why it is unusable."""
    found = load(path)
    return found if isinstance(found, str) else found.snapshot


def load(path: Path) -> Loaded | str:
    """The snapshot in `path` with its WAL floor, or a sentence saying why it is unusable."""
    data = path.read_bytes()
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + HEADER.size:
        return "not a snapshot file (bad magic or header)"
    length, crc = HEADER.unpack_from(data, len(MAGIC))
    start = len(MAGIC) + HEADER.size
    payload = data[start : start + length]
    if len(payload) != length:
        return f"payload is {len(payload)} bytes, the header says {length}"
    if zlib.crc32(payload) != crc:
        return "checksum mismatch"
    try:
        snapshot = decode_snapshot(payload)
    except CodecError as exc:
        return f"does not decode: {exc}"
    if (snapshot.index, snapshot.term) != _position(path):
        return f"holds index {snapshot.index} term {snapshot.term}, which does not match its name"
    floor = _floor(data, start + length)
    if isinstance(floor, str):
        return floor
    return Loaded(snapshot, floor, path)


def _floor(data: bytes, offset: int) -> WalFloor | str | None:
    rest = data[offset:]
    if not rest:
        return None
    if not rest.startswith(FLOOR_MAGIC) or len(rest) < len(FLOOR_MAGIC) + HEADER.size:
        return "unexpected bytes after the payload"
    length, crc = HEADER.unpack_from(rest, len(FLOOR_MAGIC))
    record = rest[len(FLOOR_MAGIC) + HEADER.size :]
    if len(record) != length or zlib.crc32(record) != crc:
        return "the WAL floor record is damaged"
    try:
        next_round, hard = unpackb(record)
        hard_state = None
        if hard is not None:
            term, vote = hard
            if type(term) is not int or term < 0 or not (vote is None or isinstance(vote, str)):
                raise ValueError(f"hard state {hard!r}")
            hard_state = HardState(term, vote, 0)
    except (CodecError, TypeError, ValueError) as exc:
        return f"the WAL floor record does not decode: {exc}"
    if type(next_round) is not int or next_round < 1:
        return f"the WAL floor record holds round {next_round!r}"
    return WalFloor(next_round, hard_state)


def set_aside(path: Path, reason: str) -> Path:
    """Rename a corrupt snapshot to `<name>.corrupt` (never overwriting an earlier one) and say so."""
    target = path.with_name(path.name + CORRUPT)
    number = 1
    while target.exists():
        number += 1
        target = path.with_name(f"{path.name}{CORRUPT}.{number}")
    path.rename(target)
    log.error("snapshot %s is corrupt (%s): renamed it to %s", path, reason, target)
    return target


def set_aside_earlier(directory: Path) -> list[str]:
    """Sentences naming snapshots set aside as corrupt by an earlier start (for error messages)."""
    return [
        f"{path}: set aside as corrupt earlier" for path in sorted(directory.glob(f"*{SUFFIX}{CORRUPT}*"))
    ]


def newest_valid(directory: Path) -> tuple[Loaded | None, list[str]]:
    """The newest readable snapshot, and a sentence for each newer one, each renamed aside as corrupt."""
    skipped: list[str] = []
    renamed = False
    try:
        for _, path in reversed(listed(directory)):
            found = load(path)
            if not isinstance(found, str):
                return found, skipped
            target = set_aside(path, found)
            renamed = True
            skipped.append(f"{path}: {found} (renamed to {target.name})")
        return None, skipped
    finally:
        if renamed:
            sync_dir(directory, [])


def prune(directory: Path, durations: list[float]) -> int | None:
    """Keep the KEEP newest valid snapshots; set corrupt ones aside and delete the older valid ones.
    Returns the index of the oldest snapshot kept (the WAL must still reach back to it), None if none."""
    kept: list[int] = []
    changed = False
    for (index, _term), path in reversed(listed(directory)):
        if len(kept) >= KEEP:
            path.unlink()
            changed = True
            continue
        found = load(path)
        if isinstance(found, str):
            set_aside(path, found)
            changed = True
        else:
            kept.append(index)
    if changed:
        sync_dir(directory, durations)
    return kept[-1] if kept else None
