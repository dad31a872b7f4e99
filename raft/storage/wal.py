"""The write side of the WAL: one active segment, rotation, and dropping segments a snapshot covers.

Touched only from the storage's single writer thread (and at open/close), so it needs no locking.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from raft.storage.files import sync, sync_dir, write_all
from raft.storage.framing import frame
from raft.storage.rounds import round_payload
from raft.storage.segment import segment_name


@dataclass(slots=True)
class SegmentInfo:
    path: Path
    first_seq: int
    size: int
    max_index: int  # the highest log index any item in the segment mentions (0: none)


class Wal:
    def __init__(
        self,
        directory: Path,
        segments: list[SegmentInfo],
        next_seq: int,
        segment_bytes: int,
        hard_state_item: bytes | None,
    ) -> None:
        self.directory = directory
        self.segments = segments
        self.next_seq = next_seq
        self.segment_bytes = segment_bytes
        # invariant: the newest hard state on disk, repeated at the start of each new segment so that
        # dropping old segments can never lose it
        self.hard_state_item = hard_state_item
        self._fd: int | None = None
        self._roll = False  # the next round starts a new segment
        if segments:
            self._fd = os.open(segments[-1].path, os.O_WRONLY | os.O_APPEND)

    def append(
        self, items: list[bytes], max_index: int, hard_state_item: bytes | None, durations: list[float]
    ) -> None:
        """Writes one round and makes it durable; an OSError leaves the WAL unusable (the caller poisons)."""
        rotate = self._fd is None or self._roll or self.segments[-1].size >= self.segment_bytes
        self._roll = False
        if rotate:
            self._open_segment()
            if self.hard_state_item is not None and hard_state_item is None:
                items = [self.hard_state_item, *items]
        record = frame(round_payload(self.next_seq, items))
        assert self._fd is not None
        write_all(self._fd, record)
        sync(self._fd, durations, data_only=True)
        if rotate:
            sync_dir(self.directory, durations)  # the new segment's directory entry
        self.next_seq += 1
        active = self.segments[-1]
        active.size += len(record)
        active.max_index = max(active.max_index, max_index)
        if hard_state_item is not None:
            self.hard_state_item = hard_state_item

    def _open_segment(self) -> None:
        path = self.directory / segment_name(self.next_seq)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        if self._fd is not None:
            os.close(self._fd)  # every round in it was synced before this one started
        self._fd = fd
        self.segments.append(SegmentInfo(path, self.next_seq, 0, 0))

    def roll(self) -> None:
        """Start a new segment with the next round. Called at each snapshot, so that the segment written
        before it can go at the next one: a restart then replays about one snapshot interval of entries,
        not a whole segment of up to segment_bytes whose entries the snapshot already holds."""
        if self._fd is not None and self.segments and self.segments[-1].size:
            self._roll = True

    def compact(self, upto_index: int, durations: list[float]) -> None:
        """Deletes the oldest segments while every index they mention is at or below `upto_index`."""
        doomed = 0
        while doomed < len(self.segments) - 1 and self.segments[doomed].max_index <= upto_index:
            doomed += 1
        for segment in self.segments[:doomed]:
            segment.path.unlink()
        del self.segments[:doomed]
        if doomed:
            sync_dir(self.directory, durations)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
