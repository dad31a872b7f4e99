"""Shared helpers for the storage tests: entries, opening, and running a coroutine against a storage."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from raft.storage import Storage
from raft.types import Entry, HardState, Member, Membership, RecoveredState, Snapshot

T = TypeVar("T")
MEMBERS = Membership((Member("n1", "127.0.0.1:7001", True),))


def entries(first: int, last: int, term: int = 1, size: int = 8) -> list[Entry]:
    return [Entry(term, index, data=bytes([index % 251]) * size) for index in range(first, last + 1)]


def snapshot(index: int, term: int, data: bytes = b"state") -> Snapshot:
    return Snapshot(index, term, MEMBERS, data)


def using(path: Path, work: Callable[[Storage], Awaitable[T]], **options: int) -> T:
    """Opens the storage, runs `work` inside one event loop, and closes it."""

    async def main() -> T:
        storage = Storage.open(path, "n1", **options)
        try:
            return await work(storage)
        finally:
            await storage.close()

    return asyncio.run(main())


def save_all(path: Path, batches: list[tuple[HardState | None, list[Entry]]], **options: int) -> None:
    async def work(storage: Storage) -> None:
        for hard_state, batch in batches:
            await storage.save(hard_state, batch)

    using(path, work, **options)


def reopen(path: Path, **options: int) -> RecoveredState:
    async def work(storage: Storage) -> RecoveredState:
        return storage.recovered

    return using(path, work, **options)


def segments(path: Path) -> list[Path]:
    return sorted((path / "wal").glob("*.wal"))


def clone(source: Path, target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    return target
