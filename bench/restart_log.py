"""Restart-to-ready of a node whose state is all in its log: N committed farm commands, no snapshot of them.

A one-node cluster's data dir gets a snapshot of an empty farm at index 1 (its membership: the only way a
data dir learns its cluster without a bootstrap) and then N committed entries (the commands of
tests/support/preseed.py: printers, spools, jobs), written through Storage.save in large rounds. The node is
started with a --snapshot-every above N, so it replays the WAL and applies every entry before /readyz says
200. Prints the time to ready and how it splits (the node's own log lines, if any, then Storage.open alone).

    .venv/bin/python bench/restart_log.py [--entries 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from farm.codec import encode_command, encode_proposal
from raft.storage import Storage
from raft.types import Entry, HardState, Member, Membership, Snapshot
from tests.support.cluster import Cluster, wait_for
from tests.support.preseed import T0_MS, commands

BATCH = 20_000


async def write(data_dir: Path, node_id: str, raft_addr: str, count: int) -> None:
    storage = Storage.open(data_dir, node_id)
    try:
        storage.set_cluster_id(uuid.uuid4().hex)
        members = Membership((Member(node_id, raft_addr, True),))
        await storage.save_snapshot(Snapshot(1, 1, members, b""))
        made = commands(count)  # ~1.17 commands per object: enough for `count` entries
        batch: list[Entry] = []
        for offset in range(count):
            index = 2 + offset
            data = encode_proposal(encode_command(made[offset]), T0_MS + index, None)
            batch.append(Entry(1, index, data=data))
            if len(batch) == BATCH or offset == count - 1:
                await storage.save(HardState(1, node_id, index), batch)
                batch = []
    finally:
        await storage.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--log", action="store_true", help="print the tail of the node's log after each run")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="restart-log-"))
    try:
        cluster = Cluster(base, 1, [f"--snapshot-every={args.entries * 2}"])
        node = cluster.nodes[0]
        started = time.monotonic()
        asyncio.run(write(node.data_dir, node.node_id, node.raft_addr, args.entries))
        size = sum(p.stat().st_size for p in (node.data_dir / "wal").iterdir())
        took = time.monotonic() - started
        print(f"wrote {args.entries:,} entries ({size / 1e6:.0f} MB of WAL) in {took:.0f} s")
        for _ in range(args.runs):
            started = time.monotonic()
            node.start()
            wait_for(lambda: node.get("/readyz", timeout=5).status == 200, 600, 0.02, "ready")
            print(f"start to /readyz 200: {time.monotonic() - started:.2f} s", flush=True)
            node.stop()
            if args.log:
                print(node.log_text()[-3000:])
        print(f"Storage.open alone: {asyncio.run(_open_close(node.data_dir, node.node_id)):.2f} s")
    finally:
        shutil.rmtree(base, ignore_errors=True)


async def _open_close(data_dir: Path, node_id: str) -> float:
    started = time.perf_counter()
    storage = Storage.open(data_dir, node_id)
    took = time.perf_counter() - started
    await storage.close()
    return took


if __name__ == "__main__":
    main()
