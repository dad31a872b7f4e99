"""Start-up: replay the WAL segments, tell a torn tail from corruption, and join the log to the snapshot."""

from __future__ import annotations

import gc
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from raft.storage.errors import CorruptLog, MissingWal
from raft.storage.files import sync, sync_dir
from raft.storage.rounds import LogReset, hard_state_item
from raft.storage.segment import Scan, next_valid_round, parse_segment_name, scan
from raft.storage.snapshots import Loaded
from raft.storage.wal import SegmentInfo
from raft.types import Entry, HardState, Snapshot

log = logging.getLogger(__name__)


@dataclass(slots=True)
class LogReplay:
    """The log as the WAL rounds describe it, in the order they were written."""

    base: int | None = None  # None: no entry or reset seen; else entries[k].index == base + 1 + k
    base_term: int | None = None  # None: unknown (the rounds before it were dropped with old segments)
    base_known: bool = False  # False: base comes from the first surviving entry, not from index 1 or a reset
    where: tuple[Path, int] = (Path(), 0)  # the round that set the base, for error messages
    entries: list[Entry] = field(default_factory=list)

    def entry(self, entry: Entry, path: Path, offset: int) -> None:
        if self.base is None or (not self.base_known and entry.index <= self.base):
            # a suffix truncated into the dropped segments' range restarts the unknown prefix
            self.base, self.entries, self.where = entry.index - 1, [entry], (path, offset)
            self.base_known = entry.index == 1
            self.base_term = 0 if self.base_known else None
            return
        last = self.base + len(self.entries)
        if not self.base < entry.index <= last + 1:
            raise CorruptLog(
                path, offset, f"entry {entry.index} cannot follow the log {self.base + 1}..{last}"
            )
        del self.entries[entry.index - self.base - 1 :]
        self.entries.append(entry)

    def reset(self, reset: LogReset, path: Path, offset: int) -> None:
        self.base, self.base_term, self.base_known = reset.index, reset.term, True
        self.entries, self.where = [], (path, offset)


@dataclass(slots=True)
class WalReplay:
    segments: list[SegmentInfo]
    next_seq: int
    hard_state: HardState | None
    log: LogReplay
    torn: tuple[Path, int] | None  # the last segment's valid length, when a torn tail must be cut off


def replay(directory: Path) -> WalReplay:
    found = sorted(
        (seq, directory / name)
        for name in os.listdir(directory)
        if (seq := parse_segment_name(name)) is not None
    )
    result = WalReplay([], 1, None, LogReplay(), None)
    # A start-up with a long log creates an object per entry: a million of them would set off collections
    # that traverse all the ones before (~40% of the replay), and none of them can be garbage yet.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for position, (first_seq, path) in enumerate(found):
            data = path.read_bytes()
            scanned = scan(data)
            if scanned.damage is not None or not data:
                result.torn = _torn_tail(path, data, scanned, is_last=position == len(found) - 1)
            segment = SegmentInfo(path, first_seq, scanned.valid_end, 0)
            _replay_rounds(result, segment, scanned)
            if scanned.rounds:
                result.segments.append(segment)
    finally:
        if collecting:
            gc.enable()
    return result


def _replay_rounds(result: WalReplay, segment: SegmentInfo, scanned: Scan) -> None:
    log, path = result.log, segment.path
    entries = log.entries
    max_index = segment.max_index
    for offset, (seq, items) in scanned.rounds:
        if seq != result.next_seq or not offset:  # the first round of a segment, or out of sequence
            _check_sequence(result, segment, seq, offset)
        else:
            result.next_seq = seq + 1
        for item in items:
            if type(item) is Entry:
                # the common case inline, as LogReplay.entry would take it: the entry after the last one
                if log.base is not None and item.index == log.base + len(entries) + 1:
                    entries.append(item)
                else:
                    log.entry(item, path, offset)
                    entries = log.entries
            elif isinstance(item, HardState):
                result.hard_state = item
                continue
            else:
                log.reset(item, path, offset)
                entries = log.entries
            if item.index > max_index:
                max_index = item.index
    segment.max_index = max_index


def _torn_tail(path: Path, data: bytes, scanned: Scan, *, is_last: bool) -> tuple[Path, int]:
    """Where to cut a torn tail; damage anywhere else, or followed by a valid round, is corruption:
    rounds are written one at a time, each after the previous one's fsync, so only the last can be torn."""
    if not is_last:
        raise CorruptLog(path, scanned.valid_end, scanned.damage or "an older segment is empty")
    later = next_valid_round(data, scanned.valid_end)
    if later is not None:
        raise CorruptLog(
            path, scanned.valid_end, f"{scanned.damage}, yet a valid record follows at offset {later}"
        )
    return path, scanned.valid_end


def _check_sequence(result: WalReplay, segment: SegmentInfo, seq: int, offset: int) -> None:
    if offset == 0 and seq != segment.first_seq:
        raise CorruptLog(
            segment.path, 0, f"the segment is named for round {segment.first_seq} but starts with round {seq}"
        )
    follows = result.segments or offset  # every round but the very first must follow the previous one
    if follows and seq != result.next_seq:
        raise CorruptLog(
            segment.path,
            offset,
            f"round {seq} where round {result.next_seq} was expected: a segment is missing or out of order",
        )
    result.next_seq = seq + 1


def join(
    replayed: LogReplay, snapshot: Snapshot | None, skipped: list[str]
) -> tuple[tuple[Entry, ...], bool]:
    """The entries after the snapshot, applying Raft's rule (§7, fig. 13 step 6-7): keep the log after a
    snapshot only when it holds the snapshot's last entry with the same term, else discard it whole.
    The flag says the WAL must record that discard (a crash came between the snapshot and its log reset)."""
    index, term = (snapshot.index, snapshot.term) if snapshot is not None else (0, 0)
    base = replayed.base
    if base is None:
        return (), False
    if base > index:
        path, offset = replayed.where
        skipped_note = f" (skipped newer snapshots: {'; '.join(skipped)})" if skipped else ""
        raise CorruptLog(
            path,
            offset,
            f"the log resumes after index {base} but the newest usable snapshot "
            f"ends at index {index}, so entries {index + 1}..{base} are missing{skipped_note}",
        )
    entries = replayed.entries
    if index == base:
        agrees = replayed.base_term is None or replayed.base_term == term
    else:
        agrees = index <= base + len(entries) and entries[index - base - 1].term == term
    return (tuple(entries[index - base :]), False) if agrees else ((), True)


def check_floor(replayed: WalReplay, loaded: Loaded | None, wal_dir: Path) -> None:
    """MissingWal if the WAL ends before the round the snapshot recorded as durable when it was written,
    or holds an older term than it did then: segments were deleted or cut short. Starting anyway would
    forget the node's term and vote (it could vote twice in one term) and maybe acknowledged entries."""
    if loaded is None:
        return
    held = replayed.next_seq - 1
    where = (
        f"{wal_dir} holds rounds up to {held} (last segment {replayed.segments[-1].path.name})"
        if replayed.segments
        else f"{wal_dir} holds no WAL segment at all"
    )
    advice = (
        "The node refuses to start rather than forget its term and vote. Restore the missing WAL "
        "segments from a backup; or wipe this data dir, remove the node from the cluster "
        "(DELETE /raft/members/<id>) and join it again."
    )
    floor = loaded.floor
    if floor is None:  # a snapshot from before floors were recorded: only a WAL gone entirely shows
        if not replayed.segments and loaded.snapshot.index > 1:
            raise MissingWal(
                f"{where}, but the snapshot {loaded.path} (index {loaded.snapshot.index}) needs the WAL "
                f"after it and the term and vote it recorded. {advice}"
            )
        return
    wanted = floor.hard_state
    remembered = f" (term {wanted.term}, vote {wanted.vote})" if wanted is not None else ""
    if held + 1 < floor.next_round:
        raise MissingWal(
            f"{where}, but when the snapshot {loaded.path} was written rounds up to "
            f"{floor.next_round - 1} were durable{remembered}: rounds {held + 1}..{floor.next_round - 1} "
            f"are missing (WAL segments deleted or cut short). {advice}"
        )
    found = replayed.hard_state
    if wanted is not None and (found is None or found.term < wanted.term):
        raise MissingWal(
            f"{where}, with term {found.term if found else 'none'}, but the snapshot {loaded.path} was "
            f"written at term {wanted.term}{remembered}: the WAL's newest hard state is missing. {advice}"
        )


def hard_state_record(replay_result: WalReplay) -> bytes | None:
    state = replay_result.hard_state
    return None if state is None else hard_state_item(state)


def cut_torn_tail(torn: tuple[Path, int], durations: list[float]) -> None:
    path, valid_end = torn
    size = path.stat().st_size
    log.warning(
        "cutting a torn tail of %d bytes off %s at offset %d (a crash interrupted a write)",
        size - valid_end,
        path,
        valid_end,
    )
    if valid_end == 0:
        path.unlink()
        sync_dir(path.parent, durations)
        return
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, valid_end)
        sync(fd, durations)
    finally:
        os.close(fd)
