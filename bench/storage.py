"""Durable appends/s of 200-byte entries through Storage.save, with 1 and with 64 concurrent writers.

Every append is awaited until durable, as the Raft actor will. Prints the median of a few runs and the
filesystem the data dir lives on (fsync latency is the whole story: run it on the disk the node will use).

    .venv/bin/python bench/storage.py [--dir DIR] [--runs 3] [--seconds 2] [--loop uvloop|asyncio]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from raft.storage import Storage
from raft.types import Entry, HardState

PAYLOAD = os.urandom(200)


def filesystem_of(path: Path) -> str:
    best = ("?", "?", "")
    with open("/proc/mounts") as mounts:
        for line in mounts:
            device, mount_point, fstype = line.split()[:3]
            inside = str(path).startswith(mount_point.rstrip("/") + "/") or str(path) == mount_point
            if inside and len(mount_point) >= len(best[2]):
                best = (device, fstype, mount_point)
    return f"{best[1]} on {best[0]} (mounted at {best[2]})"


def raw_fsync_micros(directory: Path, count: int = 500) -> float:
    """The floor under everything: the median time of one 200-byte append plus fdatasync."""
    path = directory / "raw-fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    samples = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            os.write(fd, PAYLOAD)
            os.fdatasync(fd)
            samples.append(time.perf_counter() - started)
    finally:
        os.close(fd)
        path.unlink()
    return statistics.median(samples) * 1e6


async def one_run(directory: Path, writers: int, seconds: float) -> tuple[float, float, float]:
    """Returns (durable appends/s, fsyncs/s, appends per fsync)."""
    storage = Storage.open(directory, "bench")
    fsyncs = 0

    def count(_: float) -> None:
        nonlocal fsyncs
        fsyncs += 1

    storage.on_fsync = count
    await storage.save(HardState(1, "bench", 0), [])
    next_index = 1
    deadline = time.perf_counter() + seconds
    done = 0

    async def writer() -> None:
        nonlocal next_index, done
        while time.perf_counter() < deadline:
            index, next_index = next_index, next_index + 1
            await storage.save(None, [Entry(1, index, data=PAYLOAD)])
            done += 1

    fsyncs = 0
    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    elapsed = time.perf_counter() - started
    await storage.close()
    return done / elapsed, fsyncs / elapsed, done / max(fsyncs, 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="where to create the scratch data dirs")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args()
    if args.loop == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    scratch = Path(tempfile.mkdtemp(prefix="storage-bench-", dir=args.dir)).resolve()
    print(f"data dir: {scratch}  filesystem: {filesystem_of(scratch)}  loop: {args.loop}")
    print(f"raw 200-byte append + fdatasync: {raw_fsync_micros(scratch):.0f} us (median)")
    print(f"{'writers':>7} {'appends/s':>11} {'fsyncs/s':>9} {'appends/fsync':>13}   (median of {args.runs})")
    try:
        for writers in (1, 64):
            results = []
            for run in range(args.runs):
                directory = scratch / f"w{writers}-r{run}"
                results.append(asyncio.run(one_run(directory, writers, args.seconds)))
                shutil.rmtree(directory)
            appends, fsyncs, per_fsync = (statistics.median(column) for column in zip(*results, strict=True))
            print(f"{writers:>7} {appends:>11,.0f} {fsyncs:>9,.0f} {per_fsync:>13.1f}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
