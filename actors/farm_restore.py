"""Restoring the farm from a snapshot without a loop-long stop, and the garbage collector around it.

Decoding builds hundreds of thousands of objects: on the loop that froze a follower installing a snapshot for
seconds, and its allocations set off full garbage collections that scanned the whole new state again and
again. Here the decoding runs in a worker thread with the collector paused: it competes with the loop for
the GIL but hands it back every switch interval (sys.getswitchinterval(), 5 ms), so the loop keeps serving
heartbeats and health checks (msgpack's single call over the snapshot bytes is the one stretch it cannot
interrupt). Afterwards the new state is frozen (gc.freeze: later full collections skip it; freezing keeps
nothing alive, only exempts objects from cycle detection), and the state it replaces is taken apart a few
thousand records at a time in the thread, instead of in one deallocation cascade on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
from collections.abc import Iterator
from typing import Any

from farm.state import FarmState

_BATCH = 2000


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No collection while a whole state is built; what it built is frozen when done."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def restore_here(data: bytes) -> FarmState:
    with collector_paused():
        return FarmState.restore(data)


async def restore_off_loop(data: bytes) -> FarmState:
    with collector_paused():
        return await asyncio.to_thread(FarmState.restore, data)


def _dismantle(state: FarmState) -> None:
    store: Any = getattr(state, "_store", None)
    for name in getattr(type(store), "__slots__", ()):
        table = getattr(store, name, None)
        if isinstance(table, dict):
            while table:
                for _ in range(min(_BATCH, len(table))):
                    table.popitem()


def _give_back_to_the_system() -> None:
    """glibc keeps freed memory in its heap; malloc_trim hands the free pages back (ctypes drops the GIL)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


async def release(state: FarmState) -> None:
    """Free a replaced state a batch at a time in a thread and give the memory back; the caller must hold no
    other reference."""
    holder = [state]
    del state

    def work() -> None:
        _dismantle(holder.pop())
        _give_back_to_the_system()

    await asyncio.to_thread(work)
