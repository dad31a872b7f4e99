"""save_snapshot: atomic files, the newest valid wins, compaction, and Raft's rule for the log after it."""

from __future__ import annotations

from pathlib import Path

import pytest

from raft.storage import Storage, snapshots
from raft.types import HardState
from tests.storage.helpers import entries, reopen, save_all, segments, snapshot, using


def test_a_snapshot_that_matches_the_log_keeps_the_entries_after_it(tmp_path: Path) -> None:
    async def work(storage: Storage) -> None:
        await storage.save(HardState(1, "n1", 5), entries(1, 8))
        await storage.save_snapshot(snapshot(5, 1))
        await storage.save(None, entries(9, 9))

    using(tmp_path, work)
    recovered = reopen(tmp_path)
    assert recovered.snapshot == snapshot(5, 1)
    assert recovered.entries == tuple(entries(6, 9))


def test_a_snapshot_past_the_log_restarts_the_log_after_it(tmp_path: Path) -> None:
    async def work(storage: Storage) -> None:
        await storage.save(HardState(1, "n1", 2), entries(1, 3))
        await storage.save_snapshot(snapshot(50, 4))
        with pytest.raises(ValueError):
            await storage.save(None, entries(4, 4))
        await storage.save(HardState(4, "n2", 50), entries(51, 52, term=4))

    using(tmp_path, work)
    recovered = reopen(tmp_path)
    assert recovered.snapshot == snapshot(50, 4)
    assert recovered.entries == tuple(entries(51, 52, term=4))
    assert recovered.hard_state == HardState(4, "n2", 50)


def test_a_snapshot_contradicting_the_log_discards_it(tmp_path: Path) -> None:
    async def work(storage: Storage) -> None:
        await storage.save(None, entries(1, 9))
        await storage.save_snapshot(snapshot(5, 3))  # our entry 5 has term 1: the rest of our log is stale

    using(tmp_path, work)
    recovered = reopen(tmp_path)
    assert recovered.snapshot == snapshot(5, 3) and recovered.entries == ()


def test_a_crash_between_the_snapshot_file_and_the_log_reset_gives_the_same_log(tmp_path: Path) -> None:
    save_all(tmp_path, [(None, entries(1, 9))])
    snapshots.write(tmp_path / "snap", snapshot(5, 3), [])  # as if the node died before writing the reset
    assert reopen(tmp_path).entries == ()
    save_all(tmp_path, [(None, entries(6, 7, term=3))])  # recovery recorded the reset: these must stay
    recovered = reopen(tmp_path)
    assert recovered.snapshot == snapshot(5, 3)
    assert recovered.entries == tuple(entries(6, 7, term=3))


def test_a_stale_snapshot_is_ignored_and_entries_inside_the_snapshot_are_refused(tmp_path: Path) -> None:
    async def work(storage: Storage) -> None:
        await storage.save(None, entries(1, 9))
        await storage.save_snapshot(snapshot(6, 1))
        await storage.save_snapshot(snapshot(4, 1))
        with pytest.raises(ValueError, match="snapshot"):
            await storage.save(None, entries(6, 6, term=2))

    using(tmp_path, work)
    assert [p.name.split("-")[0].lstrip("0") for p in sorted((tmp_path / "snap").glob("*.snap"))] == ["6"]
    assert reopen(tmp_path).snapshot == snapshot(6, 1)


def test_compaction_drops_covered_segments_and_keeps_two_snapshots(tmp_path: Path) -> None:
    async def work(storage: Storage) -> None:
        for index in range(1, 21):
            await storage.save(HardState(1, "n1", index), entries(index, index))
        for index in (5, 10, 15):
            await storage.save_snapshot(snapshot(index, 1, bytes([index])))

    using(tmp_path, work, segment_bytes=1)  # every round starts a new segment
    assert len(segments(tmp_path)) == 10  # rounds 11..20: back to the older snapshot kept (10)
    assert len(list((tmp_path / "snap").glob("*.snap"))) == 2
    recovered = reopen(tmp_path, segment_bytes=1)
    assert recovered.snapshot == snapshot(15, 1, bytes([15]))
    assert recovered.entries == tuple(entries(16, 20))
    assert recovered.hard_state == HardState(1, "n1", 20)


def test_an_overwrite_reaching_into_compacted_segments_replays(tmp_path: Path) -> None:
    async def work(storage: Storage) -> None:
        await storage.save(None, entries(1, 8))
        await storage.save(None, entries(9, 12))
        await storage.save(HardState(2, "n2", 8), entries(7, 9, term=2))  # a new leader overwrites 7..12
        await storage.save_snapshot(snapshot(8, 2))  # the first segment (1..8) is dropped

    using(tmp_path, work, segment_bytes=1)
    assert len(segments(tmp_path)) == 2
    recovered = reopen(tmp_path, segment_bytes=1)
    assert recovered.entries == tuple(entries(9, 9, term=2))


def test_interrupted_snapshot_writes_leave_only_temp_files_which_are_removed(tmp_path: Path) -> None:
    save_all(tmp_path, [(None, entries(1, 3))])
    (tmp_path / "snap" / "00000000000000000002-00000000000000000001.snap.tmp").write_bytes(b"half")
    assert reopen(tmp_path).snapshot is None
    assert list((tmp_path / "snap").iterdir()) == []
