"""Snapshots and the WAL under an operator's mistakes: corrupt snapshots are set aside, never the last
valid one deleted; a WAL deleted or cut short below what the snapshot recorded stops the node."""

from __future__ import annotations

from pathlib import Path

import pytest

from raft.storage.errors import MissingWal
from raft.types import HardState
from tests.storage.helpers import entries, reopen, segments, snapshot, using


def flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def snaps(path: Path) -> list[str]:
    return sorted(p.name for p in (path / "snap").iterdir())


def test_a_corrupt_newest_snapshot_twice_in_a_row_falls_back_to_the_last_valid_one(tmp_path: Path) -> None:
    async def first(storage):
        await storage.save(HardState(1, "n1", 10), entries(1, 10))
        await storage.save_snapshot(snapshot(4, 1, b"four"))
        await storage.save_snapshot(snapshot(8, 1, b"eight"))

    using(tmp_path, first, segment_bytes=1)
    flip_last_byte(tmp_path / "snap" / sorted(snaps(tmp_path))[-1])
    recovered = reopen(tmp_path, segment_bytes=1)
    assert recovered.snapshot == snapshot(4, 1, b"four")

    async def second(storage):
        await storage.save(HardState(1, "n1", 14), entries(11, 14))
        await storage.save_snapshot(snapshot(12, 1, b"twelve"))  # must not delete 4, the only other valid

    using(tmp_path, second, segment_bytes=1)
    names = snaps(tmp_path)
    assert [n.split("-")[0].lstrip("0") for n in names if n.endswith(".snap")] == ["4", "12"]
    assert any(n.endswith(".snap.corrupt") for n in names)
    newest = tmp_path / "snap" / max(n for n in names if n.endswith(".snap"))
    flip_last_byte(newest)
    recovered = reopen(tmp_path, segment_bytes=1)
    assert recovered.snapshot == snapshot(4, 1, b"four")
    assert recovered.entries == tuple(entries(5, 14))
    assert len([n for n in snaps(tmp_path) if ".corrupt" in n]) == 2


def test_a_deleted_wal_stops_the_node_naming_what_is_missing(tmp_path: Path) -> None:
    async def work(storage):
        await storage.save(HardState(3, "n2", 10), entries(1, 10))
        await storage.save_snapshot(snapshot(8, 1))

    using(tmp_path, work)
    for segment in segments(tmp_path):
        segment.unlink()
    with pytest.raises(MissingWal, match=r"no WAL segment at all.*term 3, vote n2") as caught:
        reopen(tmp_path)
    assert "00000000000000000008-" in str(caught.value)


def test_a_wal_cut_short_below_the_snapshot_stops_the_node(tmp_path: Path) -> None:
    async def work(storage):
        for index in range(1, 11):
            await storage.save(HardState(index, "n1", index), entries(index, index, term=index))
        await storage.save_snapshot(snapshot(5, 5))

    using(tmp_path, work, segment_bytes=1)
    for segment in segments(tmp_path)[-2:]:
        segment.unlink()
    with pytest.raises(MissingWal, match=r"rounds 9\.\.10 are missing"):
        reopen(tmp_path, segment_bytes=1)


def test_a_complete_wal_after_a_snapshot_starts(tmp_path: Path) -> None:
    async def work(storage):
        await storage.save(HardState(2, "n1", 10), entries(1, 10))
        await storage.save_snapshot(snapshot(8, 1))
        await storage.save(HardState(3, None, 10), [])

    using(tmp_path, work)
    recovered = reopen(tmp_path)
    assert recovered.hard_state == HardState(3, None, 10) and recovered.snapshot == snapshot(8, 1)


def test_every_data_dir_gets_its_own_incarnation_kept_across_restarts(tmp_path: Path) -> None:
    async def incarnation(storage):
        return storage.incarnation

    first = using(tmp_path / "a", incarnation)
    assert len(first) == 16 and using(tmp_path / "a", incarnation) == first
    assert using(tmp_path / "b", incarnation) != first


def test_a_joined_data_dir_whose_log_is_gone_becomes_a_new_incarnation(tmp_path: Path) -> None:
    async def join(storage):
        storage.set_cluster_id("c1")
        await storage.save(HardState(2, "n2", 3), entries(1, 3))
        return storage.incarnation

    before = using(tmp_path, join)
    for segment in segments(tmp_path):
        segment.unlink()

    async def look(storage):
        return storage.incarnation, storage.cluster_id, storage.recovered.hard_state

    after, cluster_id, hard_state = using(tmp_path, look)
    assert after != before and cluster_id == "c1" and hard_state == HardState()
