"""Snapshots built in a forked child: the state at the fork, while the parent goes on changing it."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from actors import snapshot_fork
from actors.state_machine import Apply, QueryAt
from farm.queries import ListPrinters
from farm.state import FarmState
from tests.actors.test_state_machine import make, printer_entry, run

pytestmark = pytest.mark.skipif(not snapshot_fork.can_fork(), reason="needs os.fork")


def test_the_child_encodes_the_state_as_it_was_at_the_fork() -> None:
    async def scenario() -> None:
        state = {"value": b"at fork" * 100_000}
        build = snapshot_fork.start(lambda: state["value"])
        state["value"] = b"changed after the fork"  # only the parent's copy changes
        assert await build.result() == b"at fork" * 100_000

    asyncio.run(scenario())


def test_the_bytes_are_gathered_on_the_loop_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker thread allocating the snapshot's chunks got a malloc arena of its own that kept ~35 MiB
    per thread once freed (glibc): the parent reads the pipe from the event loop, without blocking it."""
    real_read, readers = os.read, set()

    def recording_read(fd: int, size: int) -> bytes:
        readers.add(threading.get_ident())
        return real_read(fd, size)

    async def scenario() -> None:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        counting = asyncio.ensure_future(ticker())
        big = os.urandom(1 << 20) * 8
        assert await snapshot_fork.start(lambda: big).result() == big
        counting.cancel()
        assert ticks > 1  # the loop kept turning while the bytes came in

    monkeypatch.setattr(os, "read", recording_read)
    asyncio.run(scenario())
    assert readers == {threading.get_ident()}


def test_a_child_that_fails_is_an_error_not_a_short_snapshot() -> None:
    def broken() -> bytes:
        raise RuntimeError("boom")

    async def scenario() -> None:
        with pytest.raises(snapshot_fork.SnapshotBuildFailed):
            await snapshot_fork.start(broken).result()

    asyncio.run(scenario())


def test_the_state_machine_snapshots_the_applied_index_it_forked_at() -> None:
    async def scenario() -> None:
        actor, saved = make(snapshot_every=3)
        parent = os.getpid()
        await actor.deliver(Apply(tuple(printer_entry(index, 1, f"p{index}") for index in range(2, 5))))
        await actor.deliver(Apply(tuple(printer_entry(index, 1, f"p{index}") for index in range(5, 7))))
        assert (await actor.ask(QueryAt(ListPrinters(), 6), 5)).value.total == 5
        async with asyncio.timeout(5):
            while not saved.compacted:
                await asyncio.sleep(0.001)
        assert os.getpid() == parent
        snapshot = saved.saved[0]
        assert snapshot.index == 4
        assert FarmState.restore(snapshot.data).query(ListPrinters()).value.total == 3
        assert actor.last_snapshot_build_seconds > 0
        await actor.stop()

    run(scenario())
