"""Start-up with a big log and no snapshot: how long Storage.open takes to replay N entries.

The WAL is written directly with the storage's own framing (raft/storage/rounds.py, framing.py, wal.py's
segment size), without an fsync per round, so a million entries take seconds to prepare, not minutes.
`--per-round` sets how many entries one group commit held (1: a quiet node, 64: a busy one).

    .venv/bin/python bench/wal_replay.py [--entries 1000000] [--per-round 1,16] [--payload 100] [--runs 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from raft.storage import Storage, identity
from raft.storage.framing import frame
from raft.storage.rounds import entry_item, hard_state_item, round_payload
from raft.storage.segment import segment_name
from raft.types import Entry, HardState

SEGMENT_BYTES = 64 << 20  # Storage.open's default


def write_wal(directory: Path, count: int, per_round: int, payload_size: int) -> int:
    """A data dir holding `count` entries in rounds of `per_round`; returns the WAL's size in bytes."""
    directory.mkdir(parents=True)
    (directory / "wal").mkdir()
    (directory / "snap").mkdir()
    identity.store(directory, identity.Identity("bench", "cluster"), [])
    payload = os.urandom(payload_size)
    seq, index, total = 1, 0, 0
    while index < count:  # one segment per turn, each up to the storage's segment size
        first_seq, chunks, size = seq, [], 0
        while index < count and size < SEGMENT_BYTES:
            items = [hard_state_item(HardState(1, "bench", index))] if index == 0 else []
            upto = min(count, index + per_round)
            items += [entry_item(Entry(1, i, data=payload)) for i in range(index + 1, upto + 1)]
            chunks.append(frame(round_payload(seq, items)))
            size += len(chunks[-1])
            seq, index = seq + 1, upto
        (directory / "wal" / segment_name(first_seq)).write_bytes(b"".join(chunks))
        total += size
    return total


def open_seconds(directory: Path) -> tuple[float, int]:
    gc.collect()
    started = time.perf_counter()
    storage = Storage.open(directory, "bench")
    elapsed = time.perf_counter() - started
    count = len(storage.recovered.entries)
    storage._wal.close()  # no loop here: release the files the way close() would
    identity.unlock(storage._lock_fd)
    return elapsed, count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--per-round", default="1,16")
    parser.add_argument("--payload", type=int, default=100, help="bytes of command data per entry")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to write the data dirs (default: a temp dir)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="wal-replay-", dir=args.dir))
    try:
        for per_round in (int(x) for x in args.per_round.split(",")):
            directory = base / f"r{per_round}"
            size = write_wal(directory, args.entries, per_round, args.payload)
            times = []
            for _ in range(args.runs):
                elapsed, count = open_seconds(directory)
                assert count == args.entries, (count, args.entries)
                times.append(elapsed)
            print(
                f"{args.entries:,} entries, {per_round} per round, {size / 1e6:.1f} MB: "
                f"Storage.open median {statistics.median(times):.2f} s "
                f"(runs {', '.join(f'{t:.2f}' for t in times)})",
                flush=True,
            )
            shutil.rmtree(directory)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
