"""RaftNode: the consensus protocol as a deterministic state machine (modelled on etcd-io/raft).

No I/O, clocks or threads: time enters as tick(), input as step(message), client work as propose() and
read_index(); all that the outside world must do leaves as a Ready (see raft/ready.py), acknowledged with
advance(). Randomness (election timeouts) comes from the injected random.Random.

Roles swap behaviour: each role has its own tick function and its own table of message handlers, one small
method per message type. Section numbers cite the Raft paper (§5.x) and Ongaro's thesis (thesis §x.y).

This module holds the node's state, its public API, role changes and the Ready cycle; the protocol's parts
are mixins, one module each:
    raft/terms.py            messages from other terms (§5.1), pre-vote and lease exceptions
    raft/election.py         election timer, (pre-)campaigns, votes (§5.2, thesis §9.6)
    raft/replication.py      leader: AppendEntries, answers, commit, heartbeats, check-quorum (§5.3)
    raft/snapshot_sending.py leader: InstallSnapshot in chunks (§7)
    raft/follower.py         follower: AppendEntries, heartbeats, InstallSnapshot
    raft/reconfiguration.py  membership changes one server at a time (thesis §4.1)
    raft/reads.py            ReadIndex (thesis §6.4)
    raft/transfer.py         leadership transfer (thesis §3.10)
"""

from __future__ import annotations

import random
from collections.abc import Callable

from raft.codec import CodecError, decode_conf_change
from raft.config import RaftConfig
from raft.election import ElectionMixin
from raft.errors import ConfChangeInProgress, NotLeader, ProposalDropped, WouldLoseQuorum
from raft.follower import FollowerMixin
from raft.incarnation import CARRIES_INCARNATION, IncarnationMixin
from raft.live_quorum import check_live_majority
from raft.log import RaftLog
from raft.membership import ConfigHistory, same_members, validate_change
from raft.messages import (
    AppendEntries,
    AppendEntriesResponse,
    Heartbeat,
    HeartbeatResponse,
    InstallSnapshot,
    InstallSnapshotResponse,
    Message,
    ReadIndexRequest,
    ReadIndexResponse,
    RequestVote,
    RequestVoteResponse,
    TimeoutNow,
)
from raft.progress import Progress
from raft.readindex import ReadIndexQueue
from raft.reads import ReadIndexMixin
from raft.ready import ReadState, Ready
from raft.reconfiguration import ReconfigurationMixin
from raft.replication import ReplicationMixin
from raft.role import Role
from raft.snapshot_sending import SnapshotSendingMixin
from raft.snapshots import SnapshotAssembler
from raft.terms import TermRulesMixin
from raft.transfer import TransferMixin
from raft.types import (
    ConfChange,
    Entry,
    EntryKind,
    HardState,
    Member,
    Membership,
    RecoveredState,
    Snapshot,
)

__all__ = ["RaftConfig", "RaftNode", "Role", "bootstrap_state"]

_NORMAL = EntryKind.NORMAL
_CONF_CHANGE = EntryKind.CONF_CHANGE


def bootstrap_state(node_id: str, addr: str, incarnation: str = "") -> RecoveredState:
    """A brand-new single-voter cluster; the runtime persists it before creating the RaftNode from it."""
    membership = Membership((Member(node_id, addr, True, incarnation),))
    return RecoveredState(
        hard_state=HardState(term=1, vote=None, commit=1),
        snapshot=Snapshot(index=1, term=1, membership=membership, data=b""),
    )


Handler = Callable[[Message], None]


class RaftNode(
    TermRulesMixin,
    ElectionMixin,
    ReplicationMixin,
    SnapshotSendingMixin,
    FollowerMixin,
    ReconfigurationMixin,
    ReadIndexMixin,
    TransferMixin,
    IncarnationMixin,
):
    def __init__(self, config: RaftConfig, recovered: RecoveredState, rng: random.Random) -> None:
        self.config = config
        self.node_id = config.node_id
        self._rng = rng
        hard = recovered.hard_state
        snapshot = recovered.snapshot
        # Persistent state (Raft fig. 2): changes reach Ready.hard_state before any message depending on them.
        self.term = hard.term
        self.vote: str | None = hard.vote
        self.log = RaftLog(
            snapshot.index if snapshot else 0,
            snapshot.term if snapshot else 0,
            recovered.entries,
            hard.commit,
        )
        self._last_snapshot = snapshot  # the newest snapshot we hold: what lagging followers are sent

        # Volatile state.
        self.role = Role.FOLLOWER
        self.leader_id: str | None = None
        self._msgs: list[Message] = []
        self._persisted_msgs: list[Message] = []
        self._read_states: list[ReadState] = []
        self._election_elapsed = (
            0  # ticks since we last heard from the leader (leader: since the last quorum check)
        )
        self._heartbeat_elapsed = 0
        self._randomized_timeout = config.election_ticks
        self._votes: dict[str, bool] = {}
        self._snapshot_assembler = SnapshotAssembler()

        # Leader state; reset by every role change.
        self._progress: dict[str, Progress] = {}  # every member but ourselves
        # invariant: no configuration entry is appended while commit < _pending_conf_index (thesis §4.1)
        self._pending_conf_index = 0
        self._lead_transferee: str | None = None
        self._uncounted: set[str] = set()  # members seen speaking for another data dir (incarnation.py)
        self._ticks_as_leader = 0  # how long we have led: recent-contact info is partial at first
        self._reads = ReadIndexQueue()
        self._replicate_pending = False  # new entries not yet offered to followers (sent at the next Ready)
        self._commit_pending = False  # commit advanced and followers not yet told

        self._configs = ConfigHistory(
            snapshot.membership if snapshot else Membership(), self.log.snapshot_index
        )
        for entry in recovered.entries:
            if entry.kind is _CONF_CHANGE:
                self._append_config(entry)
        self._hard_state_sent = (hard.term, hard.vote, self.log.committed)

        self._tick_fn: Callable[[], None] = self._tick_election
        self._handlers: dict[type, Handler] = {}
        self._become_follower(self.term, None)

    # --- public state ----------------------------------------------------------------------------------

    @property
    def commit_index(self) -> int:
        return self.log.committed

    @property
    def applied_index(self) -> int:
        return self.log.applied

    @property
    def last_index(self) -> int:
        return self.log.last_index()

    @property
    def membership(self) -> Membership:
        """The latest appended configuration: it is in force from the moment it is appended (thesis §4.1)."""
        return self._configs.current

    @property
    def committed_membership(self) -> Membership:
        """The configuration as of the commit index (the latest one may still be pending)."""
        return self._configs.at(self.log.committed)

    def progress(self, node_id: str) -> Progress | None:
        """The leader's view of a follower (for tests and status pages); None elsewhere."""
        return self._progress.get(node_id)

    def pending_conf_change(self) -> tuple[int, int, ConfChange] | None:
        """(index, term, change) of the configuration entry appended but not yet committed, if any."""
        index = self._configs.last_index
        if index <= self.log.committed or index <= self.log.snapshot_index:
            return None
        entry = self.log.slice(index, index + 1)[0]
        try:
            return index, entry.term, decode_conf_change(entry.data)
        except CodecError:
            return None

    # --- inputs ----------------------------------------------------------------------------------------

    def tick(self) -> None:
        self._tick_fn()

    def step(self, message: Message) -> None:
        """Any message, in any order, duplicated, from anyone: never raises; nonsense is dropped."""
        if message.recipient != self.node_id or message.sender == self.node_id:
            return
        if type(message) in CARRIES_INCARNATION and not self._screen(message):
            return
        if message.term > self.term:
            if not self._accept_higher_term(message):
                return
        elif message.term < self.term:
            self._answer_stale_term(message)
            return
        handler = self._handlers.get(type(message))
        if handler is not None:
            handler(message)

    def propose(self, data: bytes) -> int:
        if self.role is not Role.LEADER:
            raise NotLeader(self.leader_id)
        if self._lead_transferee is not None:
            raise ProposalDropped(f"leadership is being transferred to {self._lead_transferee}")
        log = self.log
        index = log.snapshot_index + len(log.entries) + 1
        log.entries.append(Entry(self.term, index, _NORMAL, data))
        self._replicate_pending = True
        return index

    def propose_conf_change(self, change: ConfChange) -> int:
        if self.role is not Role.LEADER:
            raise NotLeader(self.leader_id)
        if self._lead_transferee is not None:
            raise ProposalDropped(f"leadership is being transferred to {self._lead_transferee}")
        if self._pending_conf_index > self.log.committed:
            pending = self._pending_conf_index
            raise ConfChangeInProgress(
                f"configuration entry {pending} is not committed yet", pending, self.log.term(pending) or 0
            )
        validate_change(self.membership, change)
        try:
            check_live_majority(change, self.membership, self._recently_heard())
        except WouldLoseQuorum as refused:
            if self._ticks_as_leader < self.config.election_ticks:
                # Elected less than an election timeout ago: a voter not heard from yet may just be slow
                # to answer its first heartbeat. Retryable, unlike a refusal by a settled leader.
                raise ConfChangeInProgress(
                    f"the leader was just elected and has not heard from {', '.join(refused.unreachable)} "
                    "yet"
                ) from refused
            raise
        return self._append_conf_change(change)

    def read_index(self, ctx: bytes) -> None:
        if self.role is Role.LEADER:
            self._reads.add(None, ctx)
            self._maybe_start_read_round()
        elif self.leader_id is None:
            raise NotLeader(None)
        else:
            self._send(ReadIndexRequest(self.node_id, self.leader_id, self.term, ctx))

    def transfer_leadership(self, to: str) -> None:
        """Hand leadership to the voter `to` once it holds our whole log (thesis §3.10)."""
        if self.role is not Role.LEADER:
            raise NotLeader(self.leader_id)
        if to not in self._configs.voters:
            raise ValueError(f"{to!r} is not a voter")
        self._start_transfer(to)

    def campaign(self) -> None:
        """Start an election now, as if the election timer ran out (etcd RawNode.Campaign); a no-op on a
        leader or on a node that is not a voter."""
        if self.role is not Role.LEADER and self._promotable():
            self._campaign(pre_vote=self.config.pre_vote, transfer=False)

    def compact(self, snapshot: Snapshot) -> None:
        """The application persisted `snapshot` (at an applied index): forget the log up to it, except the
        last `config.compaction_tail` entries before it; lagging followers are sent `snapshot`."""
        index = snapshot.index
        held = self._last_snapshot.index if self._last_snapshot is not None else 0
        if index <= max(self.log.snapshot_index, held):
            return
        if index > self.log.applying:
            raise ValueError(
                f"snapshot at {index} is beyond what was handed out to apply ({self.log.applying})"
            )
        if snapshot.term != self.log.term(index):
            raise ValueError(
                f"snapshot at {index} has term {snapshot.term}, the log has {self.log.term(index)}"
            )
        if not same_members(snapshot.membership, self._configs.at(index)):
            raise ValueError(f"snapshot at {index} carries a membership that was not in force there")
        self._last_snapshot = snapshot
        point = self.log.tail_start(index, self.config.compaction_tail, self.config.compaction_tail_bytes)
        if point > self.log.snapshot_index:
            self.log.compact(point)
            self._configs.compact_to(point)

    def snapshot_for(self, index: int, data: bytes) -> Snapshot:
        """A snapshot of the state machine at applied index `index`, with the term and membership there."""
        term = self.log.term(index)
        if term is None or index > self.log.applying:
            raise ValueError(f"index {index} is not an applied index still in the log")
        return Snapshot(index, term, self._configs.at(index), data)

    # --- outputs ---------------------------------------------------------------------------------------

    def has_ready(self) -> bool:
        self._flush_replication()
        log = self.log
        return bool(
            self._msgs
            or self._persisted_msgs
            or self._read_states
            or log.persist_from <= log.snapshot_index + len(log.entries)
            or log.pending_snapshot is not None
            or log.applying < log.committed
            or self._hard_state_sent != (self.term, self.vote, log.committed)
        )

    def ready(self) -> Ready:
        """What to persist, send and apply now; acknowledge it with advance().

        Pipelining (etcd's asynchronous storage writes, simplified): ready() may be called again before
        the earlier Readies are advanced, so new messages and newly committed entries need not wait for a
        disk write under way, provided the runtime
          - persists the Readies in the order they were handed out (a FIFO disk queue, as group commit is),
          - sends a Ready's persisted_messages only once it (and so every earlier one) is durable,
          - calls advance() for them in the same order, each after its own write is durable,
          - carries out a Ready that holds a snapshot alone: every earlier one advanced before it is
            persisted and the state machine restored, and no ready() until it is advanced.
        Committed entries may then be applied as soon as they are handed out, before their Ready is
        durable: committed means durable on a majority, so no crash can take them back (etcd's server
        applies in parallel with its own disk write the same way). The leader still counts itself toward
        a commit only for entries advance() says are durable.
        """
        self._flush_replication()
        log = self.log
        hard_state = None
        current = (self.term, self.vote, log.committed)
        if current != self._hard_state_sent:
            hard_state = HardState(*current)
            self._hard_state_sent = current
        entries = log.unstable_entries()
        log.persist_from = log.last_index() + 1
        committed = log.committed_to_apply()
        if committed:
            log.applying = committed[-1].index
        snapshot, log.pending_snapshot = log.pending_snapshot, None  # handed out once, even if pipelined
        ready = Ready(
            hard_state,
            snapshot,
            entries,
            self._msgs,
            self._persisted_msgs,
            committed,
            self._read_states,
        )
        self._msgs, self._persisted_msgs, self._read_states = [], [], []
        return ready

    def advance(self, ready: Ready) -> None:
        """The runtime carried `ready` out: persisted, sent and applied (pipelined: in hand-out order)."""
        log = self.log
        if ready.snapshot is not None:
            log.stable_snapshot(ready.snapshot)
            log.applied = max(log.applied, ready.snapshot.index)
        if ready.entries:
            log.stable_to(ready.entries)
        if ready.committed_entries:
            log.applied = max(log.applied, ready.committed_entries[-1].index)
        if self.role is Role.LEADER and ready.entries and self._maybe_commit():
            self._on_commit_advanced()

    # --- role changes ----------------------------------------------------------------------------------

    def _become_follower(self, term: int, leader_id: str | None) -> None:
        self._reset(term)
        self.role = Role.FOLLOWER
        self.leader_id = leader_id
        self._tick_fn = self._tick_election
        self._handlers = {
            AppendEntries: self._on_append_entries,
            Heartbeat: self._on_heartbeat,
            InstallSnapshot: self._on_install_snapshot,
            RequestVote: self._on_request_vote,
            TimeoutNow: self._on_timeout_now,
            ReadIndexResponse: self._on_read_index_response,
        }

    def _become_pre_candidate(self) -> None:
        self._reset(self.term)  # a pre-candidate keeps its term and vote
        self.role = Role.PRE_CANDIDATE
        self._tick_fn = self._tick_election
        self._handlers = self._candidate_handlers()

    def _become_candidate(self) -> None:
        self._reset(self.term + 1)
        self.vote = self.node_id
        self.role = Role.CANDIDATE
        self._tick_fn = self._tick_election
        self._handlers = self._candidate_handlers()

    def _candidate_handlers(self) -> dict[type, Handler]:
        return {
            AppendEntries: self._candidate_hears_leader,
            Heartbeat: self._candidate_hears_leader,
            InstallSnapshot: self._candidate_hears_leader,
            RequestVote: self._on_request_vote,
            RequestVoteResponse: self._on_vote_response,
        }

    def _become_leader(self) -> None:
        self._reset(self.term)
        self.role = Role.LEADER
        self.leader_id = self.node_id
        self._tick_fn = self._tick_heartbeat
        self._handlers = {
            AppendEntriesResponse: self._on_append_response,
            HeartbeatResponse: self._on_heartbeat_response,
            InstallSnapshotResponse: self._on_snapshot_response,
            RequestVote: self._on_request_vote,
            ReadIndexRequest: self._on_read_index_request,
        }
        last = self.log.last_index()
        # Members in configuration order, never set order: the core must be deterministic.
        self._progress = {
            member.node_id: Progress(last + 1, self.config.max_inflight)
            for member in self.membership.members
            if member.node_id != self.node_id
        }
        # Any configuration entry we hold may be uncommitted: allow no change before our first commit.
        self._pending_conf_index = last
        # The no-op of our term: committing it commits everything before it (§5.4.2) and enables reads (§6.4).
        self.log.append((Entry(self.term, last + 1, _NORMAL, b""),))
        for node_id, progress in self._progress.items():
            self._send_append(node_id, progress, send_if_empty=True)
        if self._maybe_commit():  # a single voter whose log is durable commits at once
            self._on_commit_advanced()

    def _reset(self, term: int) -> None:
        if term != self.term:
            self.term = term
            self.vote = None
        self.leader_id = None
        self._election_elapsed = 0
        self._heartbeat_elapsed = 0
        self._randomized_timeout = self.config.election_ticks + self._rng.randrange(
            self.config.election_ticks
        )
        self._votes = {}
        self._progress = {}
        self._pending_conf_index = 0
        self._lead_transferee = None
        self._uncounted = set()
        self._ticks_as_leader = 0
        self._reads.clear()
        self._replicate_pending = False
        self._commit_pending = False

    def _promotable(self) -> bool:
        return self.node_id in self._configs.voters and self._may_vote()

    # --- sending ---------------------------------------------------------------------------------------

    def _send(self, message: Message) -> None:
        self._msgs.append(message)

    def _send_persisted(self, message: Message) -> None:
        self._persisted_msgs.append(message)
