"""Snapshot files: `snap/<index>-<term>.snap`, written atomically, the newest valid one wins."""

from __future__ import annotations

import logging
import struct
import zlib
from pathlib import Path

from raft.codec import CodecError, decode_snapshot, encode_snapshot
from raft.storage.files import atomic_write, sync_dir
from raft.types import Snapshot

log = logging.getLogger(__name__)

MAGIC = b"PFSNAP1\n"
HEADER = struct.Struct("<QI")  # payload length (u64: snapshots may outgrow a WAL record), crc32
SUFFIX = ".snap"
KEEP = 2  # the newest is used; the one before it is a fallback while the WAL still covers the gap


def snapshot_name(index: int, term: int) -> str:
    return f"{index:020d}-{term:020d}{SUFFIX}"


def _position(path: Path) -> tuple[int, int] | None:
    index, _, term = path.name.removesuffix(SUFFIX).partition("-")
    if path.name.endswith(SUFFIX) and index.isdigit() and term.isdigit():
        return int(index), int(term)
    return None


def listed(directory: Path) -> list[tuple[tuple[int, int], Path]]:
    """Snapshot files, oldest first."""
    found = [(position, path) for path in directory.iterdir() if (position := _position(path)) is not None]
    return sorted(found)


def write(directory: Path, snapshot: Snapshot, durations: list[float]) -> Path:
    payload = encode_snapshot(snapshot)
    path = directory / snapshot_name(snapshot.index, snapshot.term)
    atomic_write(path, [MAGIC, HEADER.pack(len(payload), zlib.crc32(payload)), payload], durations)
    return path


def read(path: Path) -> Snapshot | str:
    """The snapshot in `path`, or a sentence saying why it is unusable."""
    data = path.read_bytes()
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + HEADER.size:
        return "not a snapshot file (bad magic or header)"
    length, crc = HEADER.unpack_from(data, len(MAGIC))
    payload = data[len(MAGIC) + HEADER.size :]
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
    return snapshot


def newest_valid(directory: Path) -> tuple[Snapshot | None, list[str]]:
    """The newest readable snapshot, and a sentence for each newer one that had to be skipped."""
    skipped: list[str] = []
    for _, path in reversed(listed(directory)):
        found = read(path)
        if isinstance(found, Snapshot):
            return found, skipped
        log.warning("skipping snapshot %s: %s", path, found)
        skipped.append(f"{path}: {found}")
    return None, skipped


def prune(directory: Path, durations: list[float]) -> None:
    old = listed(directory)[:-KEEP]
    for _, path in old:
        path.unlink()
    if old:
        sync_dir(directory, durations)
