"""Run by test_crash.py: appends forever with concurrent writers, printing each index once it is durable.

    python -m tests.storage.crash_child DATA_DIR
Entry i carries b"entry-<i>"; every 50th durable index also gets a snapshot 10 below it, so the parent's
kill -9 also lands in rotations, snapshot writes and compactions.
"""

from __future__ import annotations

import asyncio
import sys

from raft.storage import Storage
from raft.types import Entry, HardState, Member, Membership, Snapshot

WRITERS = 8
SEGMENT_BYTES = 4096


async def main(data_dir: str) -> None:
    storage = Storage.open(data_dir, "n1", segment_bytes=SEGMENT_BYTES)
    next_index = 1
    members = Membership((Member("n1", "127.0.0.1:1", True),))

    async def writer() -> None:
        nonlocal next_index
        while True:
            index, next_index = next_index, next_index + 1
            await storage.save(HardState(1, "n1", index), [Entry(1, index, data=b"entry-%d" % index)])
            sys.stdout.write(f"{index}\n")
            sys.stdout.flush()
            if index % 50 == 0:
                await storage.save_snapshot(Snapshot(index - 10, 1, members, b"upto-%d" % (index - 10)))

    await asyncio.gather(*(writer() for _ in range(WRITERS)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
