"""Damage that a crash cannot explain stops the node with the file and offset; snapshots fall back safely."""

from __future__ import annotations

from pathlib import Path

import pytest

from raft.storage import CorruptLog, StorageError
from raft.storage.segment import scan
from raft.types import HardState
from tests.storage.helpers import clone, entries, reopen, save_all, segments, snapshot, using


def write_rounds(path: Path, count: int, segment_bytes: int = 1 << 20) -> None:
    save_all(path, [(HardState(1, "n1", 0), entries(1, 1))], segment_bytes=segment_bytes)
    for index in range(2, count + 1):
        save_all(path, [(None, entries(index, index, size=20))], segment_bytes=segment_bytes)


def round_offsets(segment: Path) -> list[int]:
    return [scanned.offset for scanned in scan(segment.read_bytes()).rounds]


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))


def test_every_flipped_byte_of_a_middle_round_is_reported_with_file_and_round_offset(tmp_path: Path) -> None:
    write_rounds(tmp_path / "pristine", 8)
    (segment,) = segments(tmp_path / "pristine")
    offsets = round_offsets(segment)
    start, end = offsets[4], offsets[5]
    for position in range(start, end):
        damaged = clone(tmp_path / "pristine", tmp_path / "damaged")
        flip(damaged / "wal" / segment.name, position)
        with pytest.raises(CorruptLog) as caught:
            reopen(damaged)
        assert caught.value.path == str(damaged / "wal" / segment.name)
        assert caught.value.offset == start, f"flipped byte {position}"
        assert segment.name in str(caught.value) and f"offset {start}" in str(caught.value)


def test_the_damaged_file_is_left_untouched(tmp_path: Path) -> None:
    write_rounds(tmp_path, 6)
    (segment,) = segments(tmp_path)
    flip(segment, round_offsets(segment)[2] + 12)
    damaged = segment.read_bytes()
    with pytest.raises(CorruptLog):
        reopen(tmp_path)
    assert segment.read_bytes() == damaged


def test_a_damaged_last_round_of_an_older_segment_is_corruption_not_a_torn_tail(tmp_path: Path) -> None:
    write_rounds(tmp_path, 12, segment_bytes=120)
    older = segments(tmp_path)[-2]
    last_round = round_offsets(older)[-1]
    flip(older, older.stat().st_size - 2)
    with pytest.raises(CorruptLog) as caught:
        reopen(tmp_path, segment_bytes=120)
    assert (caught.value.path, caught.value.offset) == (str(older), last_round)


def test_a_shortened_older_segment_is_corruption(tmp_path: Path) -> None:
    write_rounds(tmp_path, 12, segment_bytes=120)
    older = segments(tmp_path)[-2]
    size = older.stat().st_size
    with older.open("r+b") as file:
        file.truncate(size - 5)
    with pytest.raises(CorruptLog) as caught:
        reopen(tmp_path, segment_bytes=120)
    assert caught.value.path == str(older)


def test_a_missing_segment_in_the_middle_is_reported(tmp_path: Path) -> None:
    write_rounds(tmp_path, 12, segment_bytes=120)
    files = segments(tmp_path)
    assert len(files) >= 3
    files[1].unlink()
    with pytest.raises(CorruptLog, match="segment is missing") as caught:
        reopen(tmp_path, segment_bytes=120)
    assert caught.value.path == str(files[2]) and caught.value.offset == 0


def test_a_renamed_segment_is_reported(tmp_path: Path) -> None:
    write_rounds(tmp_path, 12, segment_bytes=120)
    files = segments(tmp_path)
    files[-1].rename(files[-1].with_name(f"{int(files[-1].stem) + 1:020d}.wal"))
    with pytest.raises(CorruptLog, match="named for round"):
        reopen(tmp_path, segment_bytes=120)


def test_a_corrupt_newest_snapshot_falls_back_to_the_older_one_when_the_wal_covers_the_gap(
    tmp_path: Path,
) -> None:
    async def work(storage):
        await storage.save(HardState(1, "n1", 10), entries(1, 10))
        await storage.save_snapshot(snapshot(4, 1, b"older"))
        await storage.save_snapshot(snapshot(8, 1, b"newer"))

    using(tmp_path, work)  # one segment: nothing is compacted, so entries 5..8 are still in the WAL
    newest = sorted((tmp_path / "snap").glob("*.snap"))[-1]
    flip(newest, newest.stat().st_size - 1)
    recovered = reopen(tmp_path)
    assert recovered.snapshot == snapshot(4, 1, b"older")
    assert recovered.entries == tuple(entries(5, 10))


def _two_snapshots_over_compacted_segments(path: Path) -> None:
    async def work(storage):
        await storage.save(HardState(1, "n1", 2), entries(1, 2, size=100))
        await storage.save(HardState(1, "n1", 4), entries(3, 4, size=100))
        await storage.save_snapshot(snapshot(2, 1))  # the segment of entries 1..2 goes
        await storage.save(HardState(1, "n1", 10), entries(5, 10, size=100))
        await storage.save_snapshot(snapshot(8, 1))

    using(path, work, segment_bytes=200)


def test_a_corrupt_newest_snapshot_is_set_aside_and_the_older_one_used_with_the_wal_kept_for_it(
    tmp_path: Path,
) -> None:
    _two_snapshots_over_compacted_segments(tmp_path)
    newest = sorted((tmp_path / "snap").glob("*.snap"))[-1]
    flip(newest, newest.stat().st_size - 1)
    recovered = reopen(tmp_path, segment_bytes=200)
    assert recovered.snapshot == snapshot(2, 1)
    assert recovered.entries == tuple(entries(3, 10, size=100))
    assert not newest.exists() and newest.with_name(newest.name + ".corrupt").exists()


def test_a_missing_log_range_stops_the_node_naming_the_files(tmp_path: Path) -> None:
    _two_snapshots_over_compacted_segments(tmp_path)
    older, newest = sorted((tmp_path / "snap").glob("*.snap"))
    older.unlink()
    flip(newest, newest.stat().st_size - 1)
    with pytest.raises(CorruptLog, match=r"entries 1\.\.") as caught:
        reopen(tmp_path, segment_bytes=200)
    assert newest.name in str(caught.value) and ".wal" in str(caught.value)
    with pytest.raises(CorruptLog) as again:  # the next attempt still names the file set aside
        reopen(tmp_path, segment_bytes=200)
    assert f"{newest.name}.corrupt" in str(again.value)


def test_an_unreadable_identity_file_is_refused(tmp_path: Path) -> None:
    write_rounds(tmp_path, 2)
    flip(tmp_path / "identity", 9)
    with pytest.raises(StorageError, match="identity file"):
        reopen(tmp_path)
