"""Building a snapshot off the event loop: the Redis way, a forked child serializes the state.

Why fork rather than the alternatives:
- encoding the farm on the loop froze every node for ~1 s at 300k objects (plus the garbage collections that
  its allocations set off);
- incremental chunks across loop turns would need copy-on-write bookkeeping in every command, since records
  change in place (farm/records.py), or the snapshot would mix states from different indexes;
- a thread would hold the GIL for the whole encoding: the loop would get a turn only every switch interval.
The child gets the parent's memory as it is at fork time (the kernel's copy-on-write), so the snapshot is the
state at exactly the applied index when `start` was called, while the parent keeps applying. The CPU of the
encoding lands in another process; the parent pays the fork (page tables, a few ms per 100 MB) and copies of
the pages it writes meanwhile.

Threads, locks and signals at fork: only the forking thread exists in the child, and it drops the parent's
signal handling (default actions, no wakeup fd). The child touches nothing another
thread could have held: no logging, no asyncio, no ZeroMQ, no storage; it runs the encoder (pure Python and
msgpack on objects only the loop thread mutates, and the loop thread is the one forking), writes the bytes to
a pipe and leaves with os._exit (no atexit handlers, no finalizers, no ZeroMQ context teardown). Its
collector is off: a collection there would only copy pages for nothing.
The parent reads the pipe on its loop as the bytes come (non-blocking) and reaps the child in a worker thread,
so the loop never waits on either.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass

_CHUNK = 1 << 20


class SnapshotBuildFailed(Exception):
    """The child could not build the snapshot (its exit status says how it ended)."""


@dataclass(frozen=True, slots=True)
class ForkedBuild:
    pid: int
    read_fd: int

    async def result(self) -> bytes:
        """The child's bytes, once it has written them all and exited cleanly."""
        try:
            data = await _read_all(self.read_fd)
        finally:
            os.close(self.read_fd)
            status = await asyncio.to_thread(_reap, self.pid)  # allocates nothing: no arena of its own
        if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
            raise SnapshotBuildFailed(f"the snapshot child {self.pid} ended with status {status:#x}")
        return data


async def _read_all(fd: int) -> bytes:
    """The pipe's bytes to its end, read on the loop as they come (non-blocking, a pipe buffer at a time).
    Not in a worker thread: glibc gives each thread a malloc arena of its own, and the chunks and the joined
    snapshot allocated there stayed in the process once freed (~35 MiB per worker, the loop never reuses)."""
    loop = asyncio.get_running_loop()
    os.set_blocking(fd, False)
    chunks: list[bytes] = []
    done: asyncio.Future[None] = loop.create_future()

    def readable() -> None:  # one read a turn: a big state never holds the loop for long
        try:
            chunk = os.read(fd, _CHUNK)
        except BlockingIOError:
            return
        except OSError as exc:
            if not done.done():
                done.set_exception(exc)
            return
        if chunk:
            chunks.append(chunk)
        elif not done.done():
            done.set_result(None)

    loop.add_reader(fd, readable)
    try:
        await done
    finally:
        loop.remove_reader(fd)
    return b"".join(chunks)


def _reap(pid: int) -> int:
    return os.waitpid(pid, 0)[1]


def _forget_the_parents_signals() -> None:
    """The parent's loop catches SIGINT/SIGTERM through a wakeup fd the child shares: a signal to the child
    must end the child, not wake the parent's loop with a byte from another process."""
    with contextlib.suppress(ValueError):  # only the main thread may; a loop in another thread set none
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)


def can_fork() -> bool:
    return hasattr(os, "fork")


def start(encode: Callable[[], bytes]) -> ForkedBuild:
    """Fork a child that writes `encode()` to a pipe; returns at once (the fork itself aside)."""
    read_fd, write_fd = os.pipe()
    with contextlib.suppress(AttributeError, OSError):  # a bigger pipe: fewer turns to read it (Linux)
        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, _CHUNK)
    pid = os.fork()
    if pid == 0:  # the child: encode, write, leave without running anything of the parent's
        code = 1
        try:
            gc.disable()
            _forget_the_parents_signals()
            os.close(read_fd)
            data = memoryview(encode())
            while data:
                data = data[os.write(write_fd, data) :]
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    return ForkedBuild(pid, read_fd)


async def build(encode: Callable[[], bytes], *, fork: bool = True) -> bytes:
    """`encode()` computed in a forked child (or here, where fork is unavailable or not wanted)."""
    if not (fork and can_fork()):
        return encode()
    return await start(encode).result()
