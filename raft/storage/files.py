"""Durable file primitives: timed fsyncs, directory fsyncs and atomic replacement."""

from __future__ import annotations

import os
import time
from pathlib import Path

# fdatasync also flushes the file size, which is all an appended WAL needs; fall back where it is missing
_datasync = getattr(os, "fdatasync", os.fsync)


def sync(fd: int, durations: list[float], *, data_only: bool = False) -> None:
    started = time.perf_counter()
    (_datasync if data_only else os.fsync)(fd)
    durations.append(time.perf_counter() - started)


def sync_dir(path: Path, durations: list[float]) -> None:
    """Makes creations, renames and deletions inside `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        sync(fd, durations)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)  # a short write is retried; ENOSPC then surfaces as OSError
        view = view[written:]


def atomic_write(path: Path, chunks: list[bytes], durations: list[float]) -> None:
    """Temp file, fsync, rename over `path`, fsync the directory: readers see the old or the new file."""
    temp = path.with_name(path.name + ".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for chunk in chunks:
            write_all(fd, chunk)
        sync(fd, durations)
    except BaseException:
        os.close(fd)
        temp.unlink(missing_ok=True)  # give the space back now; a crash here leaves it for remove_temp_files
        raise
    os.close(fd)
    os.replace(temp, path)
    sync_dir(path.parent, durations)


def remove_temp_files(directory: Path) -> None:
    """Leftovers of an atomic write interrupted by a crash; the file they were to replace is intact."""
    for temp in directory.glob("*.tmp"):
        temp.unlink()
