"""A restart replays only what follows the snapshot: each snapshot starts a new WAL segment, so the segment
before it goes at the next snapshot instead of lingering (with every entry the snapshot holds) until full."""

from __future__ import annotations

from pathlib import Path

from raft.storage import Storage, recovery
from raft.types import HardState
from tests.storage.helpers import entries, reopen, segments, snapshot, using


def test_each_snapshot_starts_a_segment_and_a_restart_replays_about_one_interval(tmp_path: Path) -> None:
    async def work(storage: Storage) -> None:
        for start in range(1, 1000, 100):  # ten snapshot intervals of 100 entries, one big segment's worth
            await storage.save(HardState(1, "n1", start + 99), entries(start, start + 99))
            await storage.save_snapshot(snapshot(start + 99, 1))
        await storage.save(None, entries(1001, 1010))

    using(tmp_path, work)
    assert len(segments(tmp_path)) == 2  # the last interval's segment and the one after the last snapshot
    replayed = recovery.replay(tmp_path / "wal")
    assert len(replayed.log.entries) <= 110  # not the 1,010 entries written
    recovered = reopen(tmp_path)
    assert recovered.snapshot == snapshot(1000, 1)
    assert recovered.entries == tuple(entries(1001, 1010))
    assert recovered.hard_state == HardState(1, "n1", 1000)
