"""EIO from fsync (injected): every save in the round fails, and the storage refuses everything after."""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path

import pytest

from raft.storage import DiskFailure, Storage, files
from raft.types import HardState
from tests.storage.helpers import entries, reopen


def test_an_fsync_error_poisons_the_storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    async def main() -> None:
        storage = Storage.open(tmp_path, "n1")
        await storage.save(HardState(1, "n1", 0), entries(1, 3))
        monkeypatch.setattr(files, "_datasync", broken)
        results = await asyncio.gather(
            *(storage.save(None, entries(i, i)) for i in range(4, 10)), return_exceptions=True
        )
        assert all(isinstance(result, DiskFailure) for result in results), results
        assert "Input/output error" in str(results[0])
        monkeypatch.undo()  # the disk "recovers", but the storage must not trust what it wrote
        with pytest.raises(DiskFailure):
            await storage.save(None, entries(10, 10))
        with pytest.raises(DiskFailure):
            storage.set_cluster_id("c-1")
        await storage.close()

    asyncio.run(main())
    recovered = reopen(tmp_path)
    assert recovered.entries[:3] == tuple(entries(1, 3))  # acknowledged; 4..9 may or may not be there
    assert recovered.hard_state == HardState(1, "n1", 0)


def test_a_failing_on_fsync_callback_does_not_break_saves(tmp_path: Path) -> None:
    def failing(duration: float) -> None:
        raise RuntimeError("metrics are down")

    async def main() -> None:
        storage = Storage.open(tmp_path, "n1")
        storage.on_fsync = failing
        await storage.save(None, entries(1, 2))
        await storage.close()

    asyncio.run(main())
    assert reopen(tmp_path).entries == tuple(entries(1, 2))
