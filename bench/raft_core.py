"""Throughput of the consensus core alone: three RaftNodes in memory, no I/O, no codec.

The leader takes proposals in batches; every Ready is carried out at once (persist is free) and its messages
are handed straight to their recipients. Reported: committed entries per second (counted when the leader
applies them) and the core's cost per entry, the median of several runs.

    .venv/bin/python bench/raft_core.py [--entries N] [--batch B] [--payload BYTES] [--runs R]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import deque

from raft.core import RaftConfig, RaftNode, Role
from raft.messages import Message
from raft.types import HardState, Member, Membership, RecoveredState, Snapshot

IDS = ("n1", "n2", "n3")
COMPACT_EVERY = 50_000  # keep memory flat, as the runtime would


def make_cluster() -> dict[str, RaftNode]:
    # Voters with recorded incarnations, as a real cluster's: every answer's incarnation is checked.
    membership = Membership(tuple(Member(node_id, node_id, True, f"{node_id}.0") for node_id in IDS))
    state = RecoveredState(HardState(1, None, 1), Snapshot(1, 1, membership, b""))
    return {
        node_id: RaftNode(RaftConfig(node_id, incarnation=f"{node_id}.0"), state, random.Random(k))
        for k, node_id in enumerate(IDS)
    }


def drive(nodes: dict[str, RaftNode]) -> None:
    """Carry out every Ready and deliver every message until the cluster is quiet."""
    inbox: deque[Message] = deque()
    busy = True
    while busy:
        busy = False
        for node in nodes.values():
            if node.has_ready():
                ready = node.ready()
                inbox.extend(ready.messages)
                inbox.extend(ready.persisted_messages)  # persisting is free here
                node.advance(ready)
                busy = True
        while inbox:
            message = inbox.popleft()
            nodes[message.recipient].step(message)
            busy = True


def compact(nodes: dict[str, RaftNode]) -> None:
    for node in nodes.values():
        index = node.applied_index
        if index - node.log.snapshot_index >= COMPACT_EVERY:
            node.compact(node.snapshot_for(index, b""))


def run_once(entries: int, batch: int, payload: bytes) -> tuple[float, float]:
    """(wall seconds, CPU seconds) to commit `entries` on all three nodes."""
    nodes = make_cluster()
    leader = nodes["n1"]
    leader.campaign()
    drive(nodes)
    assert leader.role is Role.LEADER
    start_index = leader.applied_index
    target = start_index + entries
    started, cpu_started = time.perf_counter(), time.process_time()
    while leader.applied_index < target:
        for _ in range(min(batch, target - leader.last_index)):
            leader.propose(payload)
        drive(nodes)
        compact(nodes)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    for node in nodes.values():
        assert node.applied_index >= target, "every node applies everything"
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--payload", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    payload = b"x" * args.payload
    runs = [run_once(args.entries, args.batch, payload) for _ in range(args.runs)]
    wall = statistics.median(run[0] for run in runs)
    cpu = statistics.median(run[1] for run in runs)
    print(
        f"raft core, 3 nodes in memory: {args.entries} entries of {args.payload} B, "
        f"batches of {args.batch}, median of {args.runs} runs (all three cores share one CPU)"
    )
    rates = f"{args.entries / wall:,.0f} wall, {args.entries / cpu:,.0f} per CPU-second"
    print(f"  committed entries/s : {rates}")
    print(f"  µs per entry        : {1e6 * wall / args.entries:.2f} wall, {1e6 * cpu / args.entries:.2f} CPU")
    print(f"  runs (wall s)       : {', '.join(f'{run[0]:.3f}' for run in runs)}")


if __name__ == "__main__":
    main()
