"""Seeded random schedules over the simulator: faults, crashes, membership changes, then liveness.

One seed fixes everything (cluster size, configuration, fault rates, every choice), so a failing schedule
reproduces exactly: PRINTFARM_SIM_SEED=<seed> pytest tests/raft/test_simulation.py
(add PRINTFARM_SIM_PIPELINED=1 for a pipelined schedule: several Readies in flight per node).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass

from raft.errors import RaftError
from raft.types import ConfChange, ConfChangeKind
from tests.raft.sim import Cluster, Faults, SimNode

ELECTION_TICKS = 6


@dataclass
class Outcome:
    seed: int
    committed: int
    delivered: int
    leader_changes: int
    conf_changes: int
    crashes: int
    snapshots_sent: int


class Schedule:
    def __init__(self, seed: int, steps: int = 1000, pipelined: bool = False, wipes: bool = False) -> None:
        self.seed = seed
        self.steps = steps
        rng = self.rng = random.Random(seed)
        size = rng.choice((3, 3, 3, 5))
        self.ids = [f"n{k}" for k in range(1, size + 1)]
        faults = Faults(
            drop=rng.choice((0.0, 0.02, 0.1, 0.25)),
            duplicate=rng.choice((0.0, 0.05, 0.2)),
            reorder=rng.choice((0.0, 0.2, 1.0)),
        )
        pre_vote, check_quorum = rng.choice(((True, True), (True, True), (False, True), (True, False)))
        self.cluster = Cluster(
            self.ids,
            seed=seed,
            faults=faults,
            election_ticks=ELECTION_TICKS,
            heartbeat_ticks=1,
            max_append_entries=rng.choice((1, 3, 64)),
            max_append_bytes=rng.choice((8, 1 << 20)),
            max_inflight=rng.choice((1, 2, 8)),
            snapshot_chunk_bytes=rng.choice((16, 64, 1 << 20)),
            pre_vote=pre_vote,
            check_quorum=check_quorum,
            pipelined=pipelined,
        )
        self.proposals = 0
        self.reads = 0
        self.conf_changes = 0
        self.crashes = 0
        self.wipes = 0
        self.next_node = size + 1
        self.events: list[tuple[Callable[[], None], float]] = [
            (self.deliver, 40),
            (self.persist, 18),
            (self.tick, 10),
            (self.tick_one, 2),
            (self.propose, 6),
            (self.read, 3),
            (self.crash, 0.25),
            (self.restart, 0.8),
            (self.partition, 0.2),
            (self.isolate_leader, 0.2),
            (self.heal, 0.5),
            (self.change_membership, 0.4),
            (self.compact, 0.8),
            (self.transfer, 0.2),
        ]
        if wipes:  # an operator wiping a voter's data dir, then removing and joining it again
            self.events += [(self.wipe, 0.15), (self.rejoin_wiped, 1.5)]

    # --- events ----------------------------------------------------------------------------------------

    def deliver(self) -> None:
        pending = self.cluster.pending
        if pending:
            position = (
                self.rng.randrange(len(pending)) if self.rng.random() < self.cluster.faults.reorder else 0
            )
            self.cluster.deliver(position)

    def persist(self) -> None:
        busy = [node for node in self.cluster.alive() if node.in_flight is not None]
        if busy:
            self.cluster.persist(self.rng.choice(busy))

    def tick(self) -> None:
        self.cluster.tick()

    def tick_one(self) -> None:
        self.cluster.tick([self.rng.choice(list(self.cluster.nodes))])

    def _some_leader(self) -> SimNode | None:
        leaders = self.cluster.leaders()
        return self.rng.choice(leaders) if leaders else None

    def propose(self) -> None:
        leader = self._some_leader()
        if leader is None:
            return
        self.proposals += 1
        for _ in range(self.rng.choice((1, 1, 4))):
            try:
                leader.raft.propose(b"v%d.%d" % (self.seed, self.proposals))
            except RaftError:
                return
            self.proposals += 1
        self.cluster.pump(leader)

    def read(self) -> None:
        # Half the reads go to some leader, possibly a deposed one that has not noticed yet.
        candidates = self.cluster.leaders() if self.rng.random() < 0.5 else []
        node = self.rng.choice(candidates or self.cluster.alive() or [None])
        if node is None:
            return
        self.reads += 1
        with contextlib.suppress(RaftError):
            self.cluster.read_index(node.node_id, b"r%d" % self.reads)

    def crash(self) -> None:
        alive = self.cluster.alive()
        if len(alive) > 1:
            self.crashes += 1
            # The interesting crashes: a leader, mid-persist.
            leaders = [node for node in self.cluster.leaders() if node.in_flight is not None]
            if self.rng.random() < 0.5:
                leaders = []
            self.cluster.crash(self.rng.choice(leaders or alive).node_id)

    def restart(self) -> None:
        down = [node for node in self.cluster.nodes.values() if not node.alive]
        if down:
            self.cluster.restart(self.rng.choice(down).node_id)

    def partition(self) -> None:
        ids = list(self.cluster.nodes)
        self.rng.shuffle(ids)
        cut = self.rng.randrange(1, len(ids))
        self.cluster.partition(ids[:cut], ids[cut:])

    def isolate_leader(self) -> None:
        leader = self._some_leader()
        if leader is not None:
            self.cluster.isolate(leader.node_id)

    def heal(self) -> None:
        self.cluster.heal()

    def change_membership(self) -> None:
        leader = self._some_leader()
        if leader is None or self.conf_changes >= 3:
            return
        membership = leader.raft.membership
        if self.rng.random() < 0.5 and len(self.cluster.nodes) < 7:
            node_id = f"n{self.next_node}"
            change = ConfChange(ConfChangeKind.ADD_LEARNER, node_id, f"addr-{node_id}")
        elif len(membership.voters) > 2:
            node_id = self.rng.choice(sorted(membership.ids))
            change = ConfChange(ConfChangeKind.REMOVE, node_id)
        else:
            return
        try:
            leader.raft.propose_conf_change(change)
        except (RaftError, ValueError):
            return
        self.conf_changes += 1
        if change.kind is ConfChangeKind.ADD_LEARNER:
            self.next_node += 1
            self.cluster.add_node(node_id)  # a fresh, empty node waiting to hear from the leader
        self.cluster.pump(leader)

    def wipe(self) -> None:
        """An operator deletes a voter's data dir and restarts it under the same id (at most once, while
        every node is up and agrees on three or more voters, so that the others can still form a quorum
        without it: a wiped voter never counts until it is removed and joined again)."""
        nodes = list(self.cluster.nodes.values())
        if self.wipes or not all(node.alive for node in nodes):
            return
        for node in nodes:
            raft = node.raft
            if len(raft.membership.voters) < 3 or raft.pending_conf_change() is not None:
                return
        voters = sorted(nodes[0].raft.membership.voters)
        self.wipes += 1
        self.conf_changes = 3  # no other change until the wiped node is joined again
        self.cluster.wipe(self.rng.choice(voters))

    def rejoin_wiped(self) -> None:
        """What the wiped node's log message tells the operator: remove it, then join it again."""
        leader = self._some_leader()
        if leader is None or not self.cluster.wiped:
            return
        node_id = sorted(self.cluster.wiped)[0]
        if node_id in leader.raft.membership.ids:
            change = ConfChange(ConfChangeKind.REMOVE, node_id)
        else:
            change = ConfChange(ConfChangeKind.ADD_LEARNER, node_id, f"addr-{node_id}")
        try:
            leader.raft.propose_conf_change(change)
        except (RaftError, ValueError):
            return
        self.cluster.pump(leader)

    def compact(self) -> None:
        alive = self.cluster.alive()
        if alive:
            self.cluster.compact(self.rng.choice(alive).node_id)

    def transfer(self) -> None:
        leader = self._some_leader()
        if leader is None:
            return
        voters = sorted(leader.raft.membership.voters)
        try:
            leader.raft.transfer_leadership(self.rng.choice(voters))
        except (RaftError, ValueError):
            return
        self.cluster.pump(leader)

    # --- running -----------------------------------------------------------------------------------------

    def run(self) -> Outcome:
        rng = self.rng
        events = [event for event, _ in self.events]
        weights = [weight for _, weight in self.events]
        terms_seen = set()
        for event in rng.choices(events, weights, k=self.steps):
            event()
            for node in self.cluster.leaders():
                terms_seen.add(node.raft.term)
        self.check_liveness()
        checker = self.cluster.checker
        assert checker is not None
        return Outcome(
            self.seed,
            checker.max_committed,
            self.cluster.delivered,
            len(terms_seen),
            self.conf_changes,
            self.crashes,
            self.cluster.delivered_by_type.get("InstallSnapshot", 0),
        )

    def check_liveness(self) -> None:
        """Once faults stop: a leader emerges and a new proposal reaches every member within bounded ticks."""
        cluster = self.cluster
        cluster.faults = Faults()
        cluster.heal()
        last_change = {node_id: kind for _, kind, node_id in cluster.committed_conf_changes()}
        removed = {node_id for node_id, kind in last_change.items() if kind is ConfChangeKind.REMOVE}
        for node in list(cluster.nodes.values()):
            if node.node_id in removed:
                if node.alive:
                    cluster.crash(node.node_id)  # a removed server is shut down
            elif not node.alive:
                cluster.restart(node.node_id)
        cluster.stabilize()
        budget = 40 * ELECTION_TICKS
        for _ in range(budget):
            leader = cluster.leader()
            if leader is not None:
                for node_id in sorted(leader.raft.membership.ids):  # e.g. a re-join that committed late
                    if node_id in cluster.nodes and not cluster.nodes[node_id].alive:
                        cluster.restart(node_id)
                if self._try_commit(leader):
                    return
            cluster.tick()
            cluster.stabilize()
        raise AssertionError(f"no progress within {budget} ticks after faults stopped")

    def _try_commit(self, leader: SimNode) -> bool:
        cluster = self.cluster
        try:
            index = leader.raft.propose(b"final")
        except RaftError:
            return False
        cluster.pump(leader)
        for _ in range(4 * ELECTION_TICKS):
            cluster.stabilize()
            raft = leader.raft
            if raft is None or raft.role.name != "LEADER":
                return False
            members = [cluster.nodes[node_id] for node_id in raft.membership.ids if node_id in cluster.nodes]
            if all(node.alive and node.app.index >= index for node in members):
                applied = cluster.checker.applied.get(index) if cluster.checker else None
                assert applied is not None and applied[2] == b"final"
                return True
            cluster.tick()
        return False
