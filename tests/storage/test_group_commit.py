"""save(): durable on return, one fsync per round for everything that queued while the previous one ran."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from raft.storage import Storage, StorageError
from raft.types import Entry, HardState
from tests.storage.helpers import entries, reopen, snapshot, using


def test_concurrent_saves_are_batched_into_fewer_fsyncs(tmp_path: Path) -> None:
    saves = 300
    fsyncs: list[float] = []

    async def work(storage: Storage) -> None:
        storage.on_fsync = fsyncs.append
        await asyncio.gather(*(storage.save(None, entries(i, i)) for i in range(1, saves + 1)))

    using(tmp_path, work)
    assert 0 < len(fsyncs) < saves / 10
    assert all(duration >= 0 for duration in fsyncs)
    assert reopen(tmp_path).entries == tuple(entries(1, saves))


def test_saves_arriving_during_an_fsync_share_the_next_round(tmp_path: Path) -> None:
    fsyncs: list[float] = []

    async def work(storage: Storage) -> None:
        storage.on_fsync = fsyncs.append
        first = asyncio.ensure_future(storage.save(HardState(1, "n1", 0), entries(1, 1)))
        await asyncio.sleep(0)  # the writer takes the first round before the other saves arrive
        rest = [storage.save(HardState(1, "n1", i - 1), entries(i, i)) for i in range(2, 51)]
        await asyncio.gather(first, *rest)

    using(tmp_path, work)
    # the first round creates the segment (file + directory fsync), the other 49 saves go in one more round
    assert len(fsyncs) == 3
    recovered = reopen(tmp_path)
    assert recovered.hard_state == HardState(1, "n1", 49) and recovered.entries == tuple(entries(1, 50))


def test_overwriting_a_suffix_discards_it_durably(tmp_path: Path) -> None:
    async def work(storage: Storage) -> None:
        await storage.save(HardState(1, "n1", 2), entries(1, 6))
        await storage.save(HardState(2, "n2", 2), entries(4, 4, term=2))

    using(tmp_path, work)
    recovered = reopen(tmp_path)
    assert recovered.entries == tuple(entries(1, 3) + entries(4, 4, term=2))
    assert recovered.hard_state == HardState(2, "n2", 2)


def test_entries_that_leave_a_gap_or_are_not_contiguous_are_refused(tmp_path: Path) -> None:
    async def work(storage: Storage) -> None:
        await storage.save(None, entries(1, 3))
        with pytest.raises(ValueError, match="gap"):
            await storage.save(None, entries(5, 5))
        with pytest.raises(ValueError, match="contiguous"):
            await storage.save(None, [Entry(1, 4), Entry(1, 6)])
        await storage.save(None, entries(4, 4))  # a refused save changed nothing

    using(tmp_path, work)
    assert reopen(tmp_path).entries == tuple(entries(1, 4))


def test_a_save_with_nothing_new_waits_for_earlier_ones(tmp_path: Path) -> None:
    async def work(storage: Storage) -> None:
        pending = asyncio.ensure_future(storage.save(None, entries(1, 100)))
        await asyncio.sleep(0)  # the save is queued (and its round perhaps already in the writer thread)
        await storage.save(None, [])
        assert pending.done()
        await storage.save(HardState(), [])  # equal to the current hard state: nothing to write

    using(tmp_path, work)


def test_a_cancelled_save_is_still_written_and_others_are_unaffected(tmp_path: Path) -> None:
    async def work(storage: Storage) -> None:
        first = asyncio.ensure_future(storage.save(None, entries(1, 1)))
        await asyncio.sleep(0)
        cancelled = asyncio.ensure_future(storage.save(None, entries(2, 2)))
        other = asyncio.ensure_future(storage.save(None, entries(3, 3)))
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.gather(first, other)

    using(tmp_path, work)
    assert reopen(tmp_path).entries == tuple(entries(1, 3))


def test_hard_state_survives_compaction_of_the_segments_it_was_saved_in(tmp_path: Path) -> None:
    async def work(storage: Storage) -> None:
        await storage.save(HardState(7, "n3", 0), [])
        for index in range(1, 30):
            await storage.save(None, entries(index, index, term=7, size=50))
        await storage.save_snapshot(snapshot(25, 7))

    using(tmp_path, work, segment_bytes=150)
    recovered = reopen(tmp_path, segment_bytes=150)
    assert len(list((tmp_path / "wal").glob("*.wal"))) <= 3
    assert recovered.hard_state == HardState(7, "n3", 0)
    assert recovered.entries == tuple(entries(26, 29, term=7, size=50))


def test_a_closed_storage_refuses_calls(tmp_path: Path) -> None:
    async def main() -> None:
        storage = Storage.open(tmp_path, "n1")
        await storage.save(None, entries(1, 1))
        await storage.close()
        await storage.close()
        with pytest.raises(StorageError, match="closed"):
            await storage.save(None, entries(2, 2))

    asyncio.run(main())
