"""A deterministic simulator for RaftNode clusters: fake network, disks and clock, and a safety checker.

The network can drop, duplicate, reorder and partition messages. Each node drives its core through the same
raft.pipeline.ReadyPipeline the node's runtime (actors/consensus.py) uses, and carries out its work items:
messages leave at once, writes queue on a FIFO simulated disk and become durable only when the schedule
completes them (then the pipeline releases acks and votes and advances the core), committed entries apply
when handed out, read answers are checked when released. A crash loses everything not yet durable (the
queued writes, the in-memory log, the state machine); a restart resumes from the durable state alone.

A classic cluster keeps one Ready in flight per node; a pipelined one (`pipelined=True`) as many as the
core has (the runtime's setting), so new appends and commits never wait for a write under way.

Checker asserts after every delivered message: election safety, log matching, leader completeness, state
machine safety, committed entries never lost or changed, and the core's own index invariants.

Wiping a node (`Cluster.wipe`) restarts it under the same id on an empty disk with a new incarnation, as an
operator who deleted its data dir would. Until it is re-joined (a committed ADD_LEARNER or PROMOTE of it
after the wipe), the cluster checks that it never grants a vote; and whenever a leader's commit index
advances it must be backed by acks of a majority of its voters, each from the incarnation the leader's
configuration records for it, not counting at all a member that spoke to that leader for another one.
"""

from __future__ import annotations

import random
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import msgpack

from raft import messages as m
from raft import quorum
from raft.codec import decode_conf_change
from raft.core import RaftConfig, RaftNode, Role
from raft.messages import Message
from raft.pipeline import (
    Apply,
    Compacted,
    Persist,
    ReadyPipeline,
    ReleaseReads,
    Restore,
    Send,
    Work,
)
from raft.types import (
    ConfChangeKind,
    Entry,
    EntryKind,
    HardState,
    Member,
    Membership,
    RecoveredState,
    Snapshot,
)


class SafetyViolation(AssertionError):
    pass


def first_incarnation(node_id: str) -> str:
    return f"{node_id}.0"


def cluster_state(ids: Iterable[str]) -> RecoveredState:
    """A preconfigured cluster of voters, as if each had been bootstrapped with the same snapshot."""
    membership = Membership(
        tuple(Member(node_id, f"addr-{node_id}", True, first_incarnation(node_id)) for node_id in ids)
    )
    return RecoveredState(HardState(1, None, 1), Snapshot(1, 1, membership, b""))


# --- one node's disk and state machine ---------------------------------------------------------------


@dataclass
class Durable:
    """What survives a crash: exactly what completed persists wrote."""

    hard_state: HardState = field(default_factory=HardState)
    snapshot: Snapshot | None = None
    entries: list[Entry] = field(default_factory=list)

    def base(self) -> int:
        return self.snapshot.index if self.snapshot else 0

    def last_index(self) -> int:
        return self.base() + len(self.entries)

    def save(self, write: Persist) -> None:
        if write.snapshot is not None:
            self.snapshot = write.snapshot
            self.entries = []  # an installed snapshot replaces the whole log
        if write.entries:
            first = write.entries[0].index
            base = self.base()
            if not base < first <= self.last_index() + 1:
                raise SafetyViolation(
                    f"Ready entries start at {first}, durable log is ({base}, {self.last_index()}]"
                )
            del self.entries[first - base - 1 :]
            self.entries.extend(write.entries)
        if write.hard_state is not None:
            self.hard_state = write.hard_state
        if self.hard_state.commit > self.last_index():
            raise SafetyViolation(
                f"durable commit {self.hard_state.commit} beyond durable log {self.last_index()}"
            )

    def compact(self, snapshot: Snapshot) -> None:
        keep_from = snapshot.index - self.base()
        self.entries = self.entries[keep_from:]
        self.snapshot = snapshot

    def recovered(self) -> RecoveredState:
        return RecoveredState(self.hard_state, self.snapshot, tuple(self.entries))


@dataclass
class App:
    """The replicated state machine: the data of every non-empty NORMAL entry applied, with its index."""

    index: int = 0
    items: list[tuple[int, bytes]] = field(default_factory=list)

    def encode(self) -> bytes:
        return msgpack.packb([self.index, self.items], use_bin_type=True)

    @classmethod
    def restore(cls, snapshot: Snapshot | None) -> App:
        if snapshot is None or not snapshot.data:
            return cls(snapshot.index if snapshot else 0, [])
        index, items = msgpack.unpackb(snapshot.data, raw=False)
        return cls(index, [(i, d) for i, d in items])


PIPELINE_DEPTH = 1024  # the runtime's (actors/consensus.py)


class SimNode:
    def __init__(
        self, node_id: str, config: RaftConfig, durable: Durable, seed: int, max_in_flight: int = 1
    ) -> None:
        self.node_id = node_id
        self.config = (
            config if config.incarnation else replace(config, incarnation=first_incarnation(node_id))
        )
        self.durable = durable
        self.seed = seed
        self.max_in_flight = max_in_flight
        self.restarts = 0
        self.raft: RaftNode | None = None
        self.pipeline: ReadyPipeline | None = None
        self.queue: deque[Persist] = deque()  # the disk: writes handed out and not yet durable, oldest first
        self.app = App()
        self.start()

    @property
    def alive(self) -> bool:
        return self.raft is not None

    @property
    def in_flight(self) -> Persist | None:
        """The oldest write that has not completed."""
        return self.queue[0] if self.queue else None

    def start(self) -> None:
        rng = random.Random(self.seed * 7919 + self.restarts)
        self.raft = RaftNode(self.config, self.durable.recovered(), rng)
        self.pipeline = ReadyPipeline(self.raft, self.max_in_flight)
        self.queue.clear()
        self.app = App.restore(self.durable.snapshot)

    def crash(self) -> None:
        self.raft = None
        self.pipeline = None
        self.queue.clear()
        self.app = App()
        self.restarts += 1


# --- the checker ---------------------------------------------------------------------------------------


class Checker:
    def __init__(self) -> None:
        self.leaders: dict[int, str] = {}  # term -> the one leader of that term
        self.entries_seen: dict[
            tuple[int, int], tuple[EntryKind, bytes, int]
        ] = {}  # (index, term) -> content
        self.committed: dict[int, int] = {}  # index -> term, for every index known committed anywhere
        self.max_committed = 0
        self.applied: dict[int, tuple[int, EntryKind, bytes]] = {}  # index -> what was applied there
        self._log_cursor: dict[str, tuple[int, int, Entry | None]] = {}
        self._commit_cursor: dict[str, int] = {}
        self._leader_checked: set[tuple[str, int]] = set()

    def fail(self, what: str) -> None:
        raise SafetyViolation(what)

    def forget(self, node_id: str) -> None:
        """The node restarted: its memory is gone, re-check it from scratch."""
        self._log_cursor.pop(node_id, None)
        self._commit_cursor.pop(node_id, None)

    def check(self, node: SimNode) -> None:
        raft = node.raft
        if raft is None:
            return
        log = raft.log
        last = log.last_index()
        if not (log.applied <= log.applying <= log.committed <= last and log.snapshot_index <= log.applying):
            self.fail(
                f"{node.node_id}: index invariant broken: snapshot {log.snapshot_index} "
                f"applied {log.applied} applying {log.applying} commit {log.committed} last {last}"
            )
        if not log.stable_index < log.persist_from <= log.last_index() + 1:
            self.fail(f"{node.node_id}: stable {log.stable_index} persist_from {log.persist_from}")
        if raft.role is Role.LEADER:
            holder = self.leaders.setdefault(raft.term, node.node_id)
            if holder != node.node_id:
                self.fail(f"election safety: {holder} and {node.node_id} both lead term {raft.term}")
        self._check_log(node)
        self._check_commit(node)
        if raft.role is Role.LEADER and (node.node_id, raft.term) not in self._leader_checked:
            self._leader_checked.add((node.node_id, raft.term))
            self._check_leader_completeness(node)

    def _check_log(self, node: SimNode) -> None:
        log = node.raft.log
        entries = log.entries
        cursor = self._log_cursor.get(node.node_id)
        start = 0
        if cursor is not None:
            snapshot_index, count, last = cursor
            same_base = snapshot_index == log.snapshot_index and count <= len(entries)
            if same_base and (count == 0 or entries[count - 1] is last):
                start = count
        seen = self.entries_seen
        base = log.snapshot_index + 1
        for k in range(start, len(entries)):
            entry = entries[k]
            if entry.index != base + k:
                self.fail(
                    f"{node.node_id}: entry {entry} at position {k} after snapshot {log.snapshot_index}"
                )
            prev_term = entries[k - 1].term if k else log.snapshot_term
            content = (entry.kind, entry.data, prev_term)
            known = seen.setdefault((entry.index, entry.term), content)
            if known != content:
                self.fail(f"log matching: {node.node_id} has {entry} after term {prev_term}, others {known}")
        self._log_cursor[node.node_id] = (log.snapshot_index, len(entries), entries[-1] if entries else None)

    def _check_commit(self, node: SimNode) -> None:
        log = node.raft.log
        done = self._commit_cursor.get(node.node_id, 0)
        if log.committed <= done:
            self._commit_cursor[node.node_id] = log.committed
            return
        if log.snapshot_index > done:
            self._record_commit(node, log.snapshot_index, log.snapshot_term)
        for index in range(max(done, log.snapshot_index) + 1, log.committed + 1):
            self._record_commit(node, index, log.term(index))
        self._commit_cursor[node.node_id] = log.committed

    def _record_commit(self, node: SimNode, index: int, term: int | None) -> None:
        if term is None:
            self.fail(f"{node.node_id}: committed index {index} has no entry")
        known = self.committed.setdefault(index, term)
        if known != term:
            self.fail(f"committed entry changed: index {index} term {known} now {term} on {node.node_id}")
        self.max_committed = max(self.max_committed, index)

    def _check_leader_completeness(self, node: SimNode) -> None:
        log = node.raft.log
        if log.snapshot_index in self.committed and self.committed[log.snapshot_index] != log.snapshot_term:
            self.fail(f"leader completeness: {node.node_id}'s snapshot disagrees with the committed log")
        for index in range(log.snapshot_index + 1, self.max_committed + 1):
            term = self.committed.get(index)
            if term is not None and log.term(index) != term:
                self.fail(
                    f"leader completeness: leader {node.node_id} (term {node.raft.term}) lacks committed "
                    f"entry {index}@{term}, has {log.term(index)}"
                )

    def check_apply(self, node: SimNode, entry: Entry) -> None:
        if entry.index != node.app.index + 1:
            self.fail(f"{node.node_id} applied {entry.index} after {node.app.index}")
        content = (entry.term, entry.kind, entry.data)
        known = self.applied.setdefault(entry.index, content)
        if known != content:
            self.fail(
                f"state machine safety: {node.node_id} applied {content} at {entry.index}, others {known}"
            )
        committed_term = self.committed.get(entry.index)
        if committed_term is not None and committed_term != entry.term:
            self.fail(
                f"{node.node_id} applied {entry.index}@{entry.term}, committed was term {committed_term}"
            )

    def check_restore(self, node: SimNode, snapshot: Snapshot) -> None:
        app = App.restore(snapshot)
        for index, data in app.items:
            known = self.applied.get(index)
            if known is None or known[2] != data:
                self.fail(f"{node.node_id} restored a snapshot holding {index}={data!r}, applied was {known}")
        committed_term = self.committed.get(snapshot.index)
        if committed_term is not None and committed_term != snapshot.term:
            self.fail(f"{node.node_id} restored snapshot {snapshot.index}@{snapshot.term} of a wrong term")


# --- the cluster ---------------------------------------------------------------------------------------


@dataclass
class Faults:
    drop: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0  # chance that delivery picks a random pending message instead of the oldest


class Cluster:
    def __init__(
        self,
        ids: Iterable[str],
        seed: int = 0,
        faults: Faults | None = None,
        check: bool = True,
        durables: dict[str, Durable] | None = None,
        pipelined: bool = False,
        **config: object,
    ) -> None:
        self.ids = list(ids)
        self.pipelined = pipelined
        self.rng = random.Random(seed)
        self.seed = seed
        self.faults = faults or Faults()
        self.config = config
        self.checker = Checker() if check else None
        self.nodes: dict[str, SimNode] = {}
        self.pending: list[Message] = []
        self.groups: dict[str, int] = {}  # partition group per node; absent means group 0
        self.blocked: set[tuple[str, str]] = set()  # one-way cuts
        self.delivered = 0
        self.delivered_by_type: dict[str, int] = {}
        self.record = False  # keep every delivered message in `trace` (scenario tests)
        self.trace: list[Message] = []
        self.read_floor: dict[tuple[str, bytes], int] = {}  # (node, ctx) -> commit known when asked
        self.read_results: dict[tuple[str, bytes], int] = {}
        self.wiped: dict[str, int] = {}  # node -> commit index known when wiped, until it is re-joined
        # (leader, term) -> (voter, incarnation) -> highest index that incarnation acknowledged to it
        self.acks: dict[tuple[str, int], dict[tuple[str, str], int]] = defaultdict(dict)
        self.commit_seen: dict[tuple[str, int], int] = {}  # (leader, term) -> commit index last checked
        # (leader, term) -> member -> (incarnation recorded for it then, incarnation it spoke with)
        self.spoke: dict[tuple[str, int], dict[str, set[tuple[str, str]]]] = defaultdict(
            lambda: defaultdict(set)
        )
        state = cluster_state(self.ids)
        for node_id in self.ids:
            durable = (durables or {}).get(node_id) or Durable(state.hard_state, state.snapshot, [])
            self.add_node(node_id, durable)

    # --- membership of the simulation ------------------------------------------------------------------

    def add_node(self, node_id: str, durable: Durable | None = None) -> SimNode:
        config = RaftConfig(node_id, **self.config)  # type: ignore[arg-type]
        depth = PIPELINE_DEPTH if self.pipelined else 1
        node = SimNode(node_id, config, durable or Durable(), self.seed * 31 + len(self.nodes), depth)
        self.nodes[node_id] = node
        return node

    def raft(self, node_id: str) -> RaftNode:
        raft = self.nodes[node_id].raft
        assert raft is not None, f"{node_id} is down"
        return raft

    def alive(self) -> list[SimNode]:
        return [node for node in self.nodes.values() if node.alive]

    def leaders(self) -> list[SimNode]:
        return [node for node in self.alive() if node.raft.role is Role.LEADER]

    def leader(self) -> SimNode | None:
        """The leader of the highest term among live nodes, if any."""
        leaders = self.leaders()
        return max(leaders, key=lambda node: node.raft.term) if leaders else None

    # --- faults ----------------------------------------------------------------------------------------

    def isolate(self, node_id: str) -> None:
        self.groups[node_id] = max(self.groups.values(), default=0) + 1

    def partition(self, *groups: Iterable[str]) -> None:
        self.groups = {node_id: number for number, group in enumerate(groups) for node_id in group}

    def cut(self, sender: str, recipient: str) -> None:
        self.blocked.add((sender, recipient))

    def heal(self) -> None:
        self.groups = {}
        self.blocked = set()

    def connected(self, sender: str, recipient: str) -> bool:
        if (sender, recipient) in self.blocked:
            return False
        return self.groups.get(sender, 0) == self.groups.get(recipient, 0)

    def crash(self, node_id: str) -> None:
        self.nodes[node_id].crash()
        if self.checker:
            self.checker.forget(node_id)

    def restart(self, node_id: str) -> None:
        node = self.nodes[node_id]
        node.start()
        self._check(node)

    def wipe(self, node_id: str) -> None:
        """Restart `node_id` on an empty disk under the same id: a new incarnation of its data dir."""
        node = self.nodes[node_id]
        if node.alive:
            self.crash(node_id)
        node.durable = Durable()
        node.config = replace(node.config, incarnation=f"{node_id}.{node.restarts}")
        self.wiped[node_id] = self.checker.max_committed if self.checker else 0
        self.restart(node_id)

    # --- moving things -----------------------------------------------------------------------------------

    def send(self, messages: list[Message]) -> None:
        faults = self.faults
        for message in messages:
            if (
                self.wiped
                and type(message) is m.RequestVoteResponse
                and message.granted
                and message.sender in self.wiped
                and self.checker
            ):
                self.checker.fail(
                    f"a wiped node voted: {message.sender} (incarnation {message.incarnation}) granted "
                    f"{'a pre-vote' if message.pre_vote else 'its vote'} to {message.recipient} "
                    f"for term {message.term} before being joined again"
                )
            if faults.drop and self.rng.random() < faults.drop:
                continue
            self.pending.append(message)
            if faults.duplicate and self.rng.random() < faults.duplicate:
                self.pending.append(message)

    def pump(self, node: SimNode) -> None:
        """Take every Ready the node's pipeline allows now and carry out its work."""
        pipeline = node.pipeline
        if pipeline is None:
            return
        while node.raft is not None:
            work = pipeline.take()
            if not work:
                return
            self._carry_out(node, work)
            self._check(node)

    def persist(self, node: SimNode) -> None:
        """The node's oldest queued write becomes durable; the pipeline says what follows."""
        if not node.queue or node.pipeline is None:
            return
        write = node.queue.popleft()
        node.durable.save(write)
        self._carry_out(node, node.pipeline.persisted(write.number))
        self._check(node)
        self.pump(node)

    def _carry_out(self, node: SimNode, work: list[Work]) -> None:
        for item in work:
            match item:
                case Send(messages):
                    self.send(messages)
                case Persist():
                    node.queue.append(item)
                case Apply(entries):
                    self._apply(node, entries)
                case ReleaseReads(read_states):
                    for read in read_states:
                        self._check_read(node, read.index, read.ctx)
                case Restore(snapshot):
                    if self.checker:
                        self.checker.check_restore(node, snapshot)
                    node.app = App.restore(snapshot)
                case Compacted(snapshot):
                    node.durable.compact(snapshot)
                case _:
                    raise TypeError(f"unexpected work item {item!r}")

    def _apply(self, node: SimNode, entries: list[Entry]) -> None:
        for entry in entries:
            if self.checker:
                self.checker.check_apply(node, entry)
            if self.wiped and entry.kind is EntryKind.CONF_CHANGE:
                change = decode_conf_change(entry.data)
                wiped_at = self.wiped.get(change.node_id)
                joins = (ConfChangeKind.ADD_LEARNER, ConfChangeKind.PROMOTE)
                if wiped_at is not None and entry.index > wiped_at and change.kind in joins:
                    del self.wiped[change.node_id]  # joined again: its new incarnation may vote
            node.app.index = entry.index
            if entry.kind is EntryKind.NORMAL and entry.data:
                node.app.items.append((entry.index, entry.data))

    def deliver(self, position: int = 0) -> Message:
        message = self.pending.pop(position)
        node = self.nodes.get(message.recipient)
        if node is not None and node.alive and self.connected(message.sender, message.recipient):
            self._note_ack(node, message)
            node.raft.step(message)
            self.delivered += 1
            name = type(message).__name__
            self.delivered_by_type[name] = self.delivered_by_type.get(name, 0) + 1
            if self.record:
                self.trace.append(message)
            self._check(node)
            self.pump(node)
        return message

    def tick(self, node_ids: Iterable[str] | None = None) -> None:
        for node_id in node_ids if node_ids is not None else list(self.nodes):
            node = self.nodes[node_id]
            if node.alive:
                node.raft.tick()
                self._check(node)
                self.pump(node)

    def pump_all(self) -> None:
        for node in self.alive():
            self.pump(node)

    def stabilize(self, max_steps: int = 100_000, hold: Iterable[str] = ()) -> None:
        """Deliver every message (oldest first) and complete every persist until nothing moves; the nodes in
        `hold` never finish persisting (their disks are stuck)."""
        held = set(hold)
        for _ in range(max_steps):
            self.pump_all()
            if self.pending:
                self.deliver(0)
                continue
            busy = [node for node in self.alive() if node.in_flight is not None and node.node_id not in held]
            if not busy:
                return
            for node in busy:
                self.persist(node)
        raise AssertionError("cluster did not stabilize")

    def run_until(self, done: Callable[[], bool], max_steps: int = 100_000) -> bool:
        """Like stabilize, but stop as soon as `done()` holds (checked after every step); False if it never
        did before the cluster went quiet."""
        for _ in range(max_steps):
            if done():
                return True
            self.pump_all()
            if self.pending:
                self.deliver(0)
                continue
            busy = [node for node in self.alive() if node.in_flight is not None]
            if not busy:
                break
            self.persist(busy[0])
        return done()

    def run_ticks(self, ticks: int) -> None:
        for _ in range(ticks):
            self.tick()
            self.stabilize()

    def win_election(self, node_id: str, attempts: int = 10) -> RaftNode:
        """Make `node_id` campaign until it leads; stop the moment it does (its first messages pending)."""
        raft = self.raft(node_id)
        for _ in range(attempts):
            raft.campaign()
            self.pump(self.nodes[node_id])
            if self.run_until(lambda: raft.role is Role.LEADER):
                return raft
        raise AssertionError(f"{node_id} did not win an election")

    def elect(self, node_id: str) -> RaftNode:
        """Make `node_id` the leader and let the cluster settle."""
        raft = self.win_election(node_id)
        self.stabilize()
        return raft

    # --- client operations ---------------------------------------------------------------------------------

    def read_index(self, node_id: str, ctx: bytes) -> None:
        """Ask for a read; its answer must not be older than anything committed when it was asked."""
        self.read_floor[(node_id, ctx)] = self.checker.max_committed if self.checker else 0
        self.raft(node_id).read_index(ctx)
        self.pump(self.nodes[node_id])

    def _check_read(self, node: SimNode, index: int, ctx: bytes) -> None:
        key = (node.node_id, ctx)
        floor = self.read_floor.get(key)
        if floor is not None and index < floor:
            raise SafetyViolation(f"stale read: {key} answered at {index}, {floor} was committed when asked")
        self.read_results[key] = index

    def compact(self, node_id: str) -> None:
        """The state machine snapshots what it applied; the pipeline compacts the core (and, here, the
        durable log with it) once that is safe."""
        node = self.nodes[node_id]
        raft = node.raft
        if raft is None or node.pipeline is None or node.app.index <= raft.log.snapshot_index:
            return
        if node.pipeline.carrying_snapshot:
            return  # the state machine is about to be replaced
        snapshot = raft.snapshot_for(node.app.index, node.app.encode())
        self._carry_out(node, node.pipeline.compact(snapshot))
        self._check(node)

    def _check(self, node: SimNode) -> None:
        if self.checker:
            self.checker.check(node)
            self._check_commit_quorum(node)

    def _note_ack(self, node: SimNode, message: Message) -> None:
        """Remember what each incarnation acknowledged to a leader (durable on it when sent), and which
        incarnations each member spoke with to it."""
        raft = node.raft
        if raft.role is not Role.LEADER or message.term != raft.term:
            return
        incarnation = getattr(message, "incarnation", None)
        member = raft.membership.get(message.sender)
        if incarnation is not None and member is not None:
            # what it spoke with, and what the leader's configuration recorded for it then
            self.spoke[(node.node_id, raft.term)][message.sender].add((member.incarnation, incarnation))
        acked = (type(message) is m.AppendEntriesResponse and not message.reject) or (
            type(message) is m.InstallSnapshotResponse and message.done
        )
        if not acked:
            return
        index = message.index  # type: ignore[union-attr]
        acks = self.acks[(node.node_id, raft.term)]
        key = (message.sender, message.incarnation)
        acks[key] = max(acks.get(key, 0), index)

    def _check_commit_quorum(self, node: SimNode) -> None:
        """A leader's commit index must be backed by a majority of its voters, each counted only by acks
        from the incarnation its configuration records (a wiped data dir's acks never count)."""
        raft = node.raft
        if raft is None or raft.role is not Role.LEADER:
            return
        key = (node.node_id, raft.term)
        seen = self.commit_seen.get(key)
        commit = raft.commit_index
        self.commit_seen[key] = commit
        if seen is None or commit <= seen:
            return
        acks = self.acks[key]
        membership = raft.membership
        backing = []
        for voter in sorted(membership.voters):
            if voter == node.node_id:
                backing.append(voter)
                continue
            recorded = membership.get(voter).incarnation  # type: ignore[union-attr]
            if recorded and any(then == recorded != inc for then, inc in self.spoke[key][voter]):
                continue  # it spoke for another data dir since: none of its acks may count here
            acked = max(
                (index for (sender, inc), index in acks.items() if sender == voter and recorded in ("", inc)),
                default=0,
            )
            if acked >= commit:
                backing.append(voter)
        if len(backing) < quorum.majority(len(membership.voters)):
            self.checker.fail(  # type: ignore[union-attr]
                f"commit without a quorum: {node.node_id} (term {raft.term}) committed {commit} backed only "
                f"by {backing} of voters {sorted(membership.voters)} (acks: {acks})"
            )

    # --- reading the outcome ---------------------------------------------------------------------------

    def committed_conf_changes(self) -> list[tuple[int, ConfChangeKind, str]]:
        """Configuration changes known committed, from any live node's log."""
        found: dict[int, tuple[int, ConfChangeKind, str]] = {}
        for node in self.alive():
            log = node.raft.log
            for entry in log.slice(log.first_index(), log.committed + 1):
                if entry.kind is EntryKind.CONF_CHANGE:
                    change = decode_conf_change(entry.data)
                    found[entry.index] = (entry.index, change.kind, change.node_id)
        return [found[index] for index in sorted(found)]
