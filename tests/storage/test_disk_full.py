"""ENOSPC on a tiny tmpfs: the failing append raises DiskFailure, the storage refuses everything after, and
what it acknowledged before is exactly what recovery finds."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from raft.storage import DiskFailure, Storage
from raft.types import Entry, HardState
from tests.storage.helpers import snapshot


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root; the ENOSPC test does not run unprivileged")
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (no CAP_SYS_ADMIN?): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_fails_the_append_loudly_and_acknowledges_nothing_more(tiny_fs: Path) -> None:
    data_dir = tiny_fs / "node"
    payload = b"p" * 1000
    acknowledged: set[int] = set()
    failures: list[DiskFailure] = []

    async def main() -> None:
        storage = Storage.open(data_dir, "n1", segment_bytes=1 << 30)
        next_index = 1

        async def writer() -> None:
            nonlocal next_index
            while True:
                index, next_index = next_index, next_index + 1
                try:
                    await storage.save(HardState(1, "n1", index), [Entry(1, index, data=payload)])
                except DiskFailure as exc:
                    failures.append(exc)
                    return
                acknowledged.add(index)

        await asyncio.wait_for(asyncio.gather(*(writer() for _ in range(8))), timeout=30)
        with pytest.raises(DiskFailure):  # poisoned: even a tiny write that would fit is refused
            await storage.save(HardState(2, "n1", 0), [])
        with pytest.raises(DiskFailure):
            await storage.save_snapshot(snapshot(1, 1))
        await storage.close()

    asyncio.run(main())
    assert len(failures) == 8 and acknowledged
    assert "No space left on device" in str(failures[0]) and str(data_dir) in str(failures[0])

    storage = Storage.open(data_dir, "n1")  # recovery on the still-full disk cuts the torn round
    recovered = storage.recovered
    asyncio.run(storage.close())
    indexes = [entry.index for entry in recovered.entries]
    assert indexes == list(range(1, len(indexes) + 1))
    assert acknowledged <= set(indexes)
    assert all(entry.data == payload for entry in recovered.entries)
    assert recovered.hard_state.commit == indexes[-1]


def test_a_snapshot_that_does_not_fit_poisons_the_storage(tiny_fs: Path) -> None:
    data_dir = tiny_fs / "node"

    async def main() -> None:
        storage = Storage.open(data_dir, "n1")
        await storage.save(HardState(1, "n1", 1), [Entry(1, 1, data=b"x")])
        with pytest.raises(DiskFailure):
            await storage.save_snapshot(snapshot(1, 1, b"s" * (400 << 10)))
        with pytest.raises(DiskFailure):
            await storage.save(None, [Entry(1, 2)])
        await storage.close()

    asyncio.run(main())
    storage = Storage.open(data_dir, "n1")  # the half-written temp file is removed, the old state is intact
    assert storage.recovered.snapshot is None and [e.index for e in storage.recovered.entries] == [1]
    asyncio.run(storage.close())
    assert not list((data_dir / "snap").iterdir())
