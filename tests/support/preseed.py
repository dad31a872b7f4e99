"""A big farm without a long load: build the state in this process, hand every node the same snapshot.

Loading 300k objects through HTTP takes minutes; applying the same commands to a FarmState here takes
seconds, and the snapshot it makes is what a cluster that had applied them would hold. Each node's data dir
gets that snapshot (with all nodes as voters and one cluster id) and a hard state committing it, so the
nodes start as a restarted cluster would: they restore the snapshot, elect a leader and serve.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from farm.codec import encode_command, encode_proposal
from farm.commands import Command, CreateFilament, CreateJob, CreatePrinter, SetJobStatus
from farm.state import FarmState
from raft.storage import Storage
from raft.types import HardState, Member, Membership, Snapshot
from tests.support.cluster import Cluster

T0_MS = 1_700_000_000_000
SNAPSHOT_TERM = 1


@dataclass(frozen=True, slots=True)
class Seeded:
    index: int  # the snapshot's index: every node has applied it once started
    printers: int
    filaments: int
    jobs: int
    snapshot_bytes: int


def printer_id(number: int) -> str:
    return f"printer-{number:07d}"


def spool_id(number: int) -> str:
    return f"spool-{number:07d}"


def job_id(number: int) -> str:
    return f"job-{number:07d}"


def commands(objects: int) -> list[Command]:
    """A third each of printers, spools and jobs; jobs a mix: a quarter Running, a quarter Done, the rest
    Queued (each on its own printer and spool, so every one is allowed)."""
    each = max(1, objects // 3)
    out: list[Command] = []
    for number in range(each):
        out.append(CreatePrinter(printer_id(number), "Prusa", "MK4"))
        out.append(CreateFilament(spool_id(number), "PLA", "red", 1000, 1000))
        out.append(CreateJob(job_id(number), printer_id(number), spool_id(number), 10))
        if number % 4 in (0, 1):
            out.append(SetJobStatus(job_id(number), "Running"))
        if number % 4 == 1:
            out.append(SetJobStatus(job_id(number), "Done"))
    return out


def build_state(objects: int) -> tuple[FarmState, int]:
    state = FarmState()
    index = 1  # index 1 is the bootstrap entry of a real cluster
    for command in commands(objects):
        index += 1
        state.apply(index, encode_proposal(encode_command(command), T0_MS + index, None))
    return state, index


@dataclass(frozen=True, slots=True)
class Built:
    data: bytes
    seeded: Seeded


def build(objects: int) -> Built:
    """The farm's snapshot bytes. Build before choosing ports (Cluster()): another process may take a port
    picked long before the nodes bind it."""
    state, index = build_state(objects)
    data = state.snapshot()
    each = max(1, objects // 3)
    return Built(data, Seeded(index, each, each, each, len(data)))


def install(cluster: Cluster, built: Built) -> Seeded:
    """Give every node of `cluster` (not running) the snapshot, all of them voters of one cluster."""
    index = built.seeded.index
    members = Membership(tuple(Member(node.node_id, node.raft_addr, True) for node in cluster.nodes))
    snapshot = Snapshot(index, SNAPSHOT_TERM, members, built.data)
    cluster_id = uuid.uuid4().hex

    async def write(node_id: str, data_dir: str) -> None:
        storage = Storage.open(data_dir, node_id)
        try:
            storage.set_cluster_id(cluster_id)
            await storage.save_snapshot(snapshot)
            await storage.save(HardState(SNAPSHOT_TERM, None, index), [])
        finally:
            await storage.close()

    for node in cluster.nodes:
        asyncio.run(write(node.node_id, str(node.data_dir)))
    return built.seeded
