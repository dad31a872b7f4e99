"""RaftNode: the consensus protocol as a deterministic state machine (modelled on etcd-io/raft).

No I/O, clocks or threads: time enters as tick(), input as step(message), client work as propose() and
read_index(); all that the outside world must do leaves as a Ready (see raft/ready.py), acknowledged with
advance(). Randomness (election timeouts) comes from the injected random.Random.

Roles swap behaviour: each role has its own tick function and its own table of message handlers, one small
method per message type. Section numbers cite the Raft paper (§5.x) and Ongaro's thesis (thesis §x.y).
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter

from raft import quorum
from raft.codec import CodecError, decode_conf_change, encode_conf_change
from raft.errors import ConfChangeInProgress, NotLeader, ProposalDropped
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
from raft.progress import Progress, ProgressState
from raft.readindex import ReadIndexQueue, ReadRound
from raft.ready import ReadState, Ready
from raft.snapshots import SnapshotAssembler
from raft.types import (
    ConfChange,
    ConfChangeKind,
    Entry,
    EntryKind,
    HardState,
    Member,
    Membership,
    RecoveredState,
    Snapshot,
)

_NORMAL = EntryKind.NORMAL
_kind = attrgetter("kind")
_CONF_CHANGE = EntryKind.CONF_CHANGE
_LEADER_MESSAGES = (AppendEntries, Heartbeat, InstallSnapshot)


@dataclass(frozen=True, slots=True)
class RaftConfig:
    node_id: str
    election_ticks: int = (
        10  # followers time out after a random number of ticks in [election_ticks, 2*election_ticks)
    )
    heartbeat_ticks: int = 2
    max_append_entries: int = 1024  # entries per AppendEntries
    max_append_bytes: int = 1 << 20  # bytes of entry data per AppendEntries
    max_inflight: int = 64  # AppendEntries in flight per follower in replicate state
    snapshot_chunk_bytes: int = 256 * 1024
    pre_vote: bool = True
    check_quorum: bool = True

    def __post_init__(self) -> None:
        if not self.node_id:
            raise ValueError("node_id must not be empty")
        if self.heartbeat_ticks < 1 or self.election_ticks <= self.heartbeat_ticks:
            raise ValueError("need 1 <= heartbeat_ticks < election_ticks")
        if (
            min(self.max_append_entries, self.max_append_bytes, self.max_inflight, self.snapshot_chunk_bytes)
            < 1
        ):
            raise ValueError("batch, window and chunk limits must be positive")


class Role(enum.Enum):
    FOLLOWER = "Follower"
    PRE_CANDIDATE = "PreCandidate"
    CANDIDATE = "Candidate"
    LEADER = "Leader"

    @property
    def label(self) -> str:
        """The role as the API shows it: a pre-candidate has not left its term, so it is still a Follower."""
        return "Follower" if self is Role.PRE_CANDIDATE else self.value


def bootstrap_state(node_id: str, addr: str) -> RecoveredState:
    """A brand-new single-voter cluster; the runtime persists it before creating the RaftNode from it."""
    membership = Membership((Member(node_id, addr, True),))
    return RecoveredState(
        hard_state=HardState(term=1, vote=None, commit=1),
        snapshot=Snapshot(index=1, term=1, membership=membership, data=b""),
    )


Handler = Callable[[Message], None]


class RaftNode:
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

    def progress(self, node_id: str) -> Progress | None:
        """The leader's view of a follower (for tests and status pages); None elsewhere."""
        return self._progress.get(node_id)

    # --- inputs ----------------------------------------------------------------------------------------

    def tick(self) -> None:
        self._tick_fn()

    def step(self, message: Message) -> None:
        """Any message, in any order, duplicated, from anyone: never raises; nonsense is dropped."""
        if message.recipient != self.node_id or message.sender == self.node_id:
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
            raise ConfChangeInProgress(f"configuration entry {self._pending_conf_index} is not committed yet")
        validate_change(self.membership, change)
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
        if to == self.node_id or to == self._lead_transferee:
            return
        self._lead_transferee = to
        self._election_elapsed = 0  # the transfer is abandoned after an election timeout
        progress = self._progress[to]
        if progress.match == self.log.last_index():
            self._send(TimeoutNow(self.node_id, to, self.term))
        else:
            self._send_append(to, progress, send_if_empty=True)

    def campaign(self) -> None:
        """Start an election now, as if the election timer ran out (etcd RawNode.Campaign); a no-op on a
        leader or on a node that is not a voter."""
        if self.role is not Role.LEADER and self._promotable():
            self._campaign(pre_vote=self.config.pre_vote, transfer=False)

    def compact(self, snapshot: Snapshot) -> None:
        """The application persisted `snapshot` (at an applied index): forget the log up to it."""
        index = snapshot.index
        if index <= self.log.snapshot_index:
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
        self.log.compact(index)
        self._configs.compact_to(index)
        self._last_snapshot = snapshot

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
        ready = Ready(
            hard_state,
            log.pending_snapshot,
            entries,
            self._msgs,
            self._persisted_msgs,
            committed,
            self._read_states,
        )
        self._msgs, self._persisted_msgs, self._read_states = [], [], []
        return ready

    def advance(self, ready: Ready) -> None:
        """The runtime carried `ready` out: persisted, sent and applied."""
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

    # --- term rules (Raft §5.1, pre-vote and leases: thesis §9.6, §4.2.3) ------------------------------

    def _accept_higher_term(self, message: Message) -> bool:
        """A message from a later term: adopt the term unless it is a (pre-)vote we should not heed."""
        if isinstance(message, RequestVote):
            in_lease = (
                self.config.check_quorum
                and self.leader_id is not None
                and self._election_elapsed < self.config.election_ticks
            )
            if in_lease and not message.transfer:
                return False  # we hear from a live leader: a disruptive (pre-)candidate is ignored
            if message.pre_vote:
                return True  # a pre-vote never changes our term
        elif isinstance(message, RequestVoteResponse) and message.pre_vote and message.granted:
            return True  # granted pre-votes carry the term we would campaign at
        leader = message.sender if isinstance(message, _LEADER_MESSAGES) else None
        self._become_follower(message.term, leader)
        return True

    def _answer_stale_term(self, message: Message) -> None:
        if isinstance(message, (AppendEntries, Heartbeat)):
            if self.config.check_quorum or self.config.pre_vote:
                # A deposed leader cut off by partition learns our term and steps down (etcd does the same).
                self._send_persisted(AppendEntriesResponse(self.node_id, message.sender, self.term, 0))
        elif isinstance(message, RequestVote) and message.pre_vote:
            self._send_persisted(RequestVoteResponse(self.node_id, message.sender, self.term, False, True))

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
        self._reads.clear()
        self._replicate_pending = False
        self._commit_pending = False

    def _promotable(self) -> bool:
        return self.node_id in self._configs.voters

    # --- ticks -----------------------------------------------------------------------------------------

    def _tick_election(self) -> None:
        """Follower and (pre-)candidate: campaign once the leader is silent for the randomized timeout."""
        self._election_elapsed += 1
        if self._election_elapsed >= self._randomized_timeout and self._promotable():
            self._campaign(pre_vote=self.config.pre_vote, transfer=False)

    def _tick_heartbeat(self) -> None:
        self._election_elapsed += 1
        self._heartbeat_elapsed += 1
        if self._election_elapsed >= self.config.election_ticks:
            self._election_elapsed = 0
            if self.config.check_quorum and not self._quorum_active():
                self._become_follower(self.term, None)  # check-quorum: we may be the minority side
                return
            self._lead_transferee = None  # a transfer not done within an election timeout is abandoned
        if self._heartbeat_elapsed >= self.config.heartbeat_ticks:
            self._heartbeat_elapsed = 0
            self._broadcast_heartbeat()

    def _quorum_active(self) -> bool:
        active = {node_id for node_id, progress in self._progress.items() if progress.recent_active}
        active.add(self.node_id)
        for progress in self._progress.values():
            progress.recent_active = False
        return quorum.has_quorum(self._configs.voters, active)

    # --- elections (Raft §5.2, pre-vote thesis §9.6) ---------------------------------------------------

    def _campaign(self, pre_vote: bool, transfer: bool) -> None:
        if pre_vote:
            self._become_pre_candidate()
            vote_term = self.term + 1
            send = self._send  # nothing of ours changed: pre-votes may leave at once
        else:
            self._become_candidate()
            vote_term = self.term
            send = self._send_persisted  # our new term and self-vote must be durable first
        self._votes[self.node_id] = True
        if self._tally_votes():
            return
        last_index, last_term = self.log.last_index(), self.log.last_term()
        for voter in sorted(self._configs.voters):
            if voter != self.node_id:
                send(RequestVote(self.node_id, voter, vote_term, last_index, last_term, pre_vote, transfer))

    def _tally_votes(self) -> bool:
        """Act on the votes so far; True if the campaign is decided."""
        result = quorum.vote_result(self._configs.voters, self._votes)
        if result is quorum.VoteResult.WON:
            if self.role is Role.PRE_CANDIDATE:
                self._campaign(pre_vote=False, transfer=False)
            else:
                self._become_leader()
            return True
        if result is quorum.VoteResult.LOST:
            self._become_follower(self.term, None)
            return True
        return False

    def _on_request_vote(self, message: RequestVote) -> None:
        can_vote = (
            self.vote == message.sender
            or (self.vote is None and self.leader_id is None)
            or (message.pre_vote and message.term > self.term)
        )
        if can_vote and self.log.is_up_to_date(message.last_index, message.last_term):
            self._send_persisted(
                RequestVoteResponse(self.node_id, message.sender, message.term, True, message.pre_vote)
            )
            if not message.pre_vote:
                self.vote = message.sender
                self._election_elapsed = 0
        else:
            self._send_persisted(
                RequestVoteResponse(self.node_id, message.sender, self.term, False, message.pre_vote)
            )

    def _on_vote_response(self, message: RequestVoteResponse) -> None:
        if message.pre_vote != (self.role is Role.PRE_CANDIDATE):
            return  # an answer to an earlier campaign of the other kind
        if message.pre_vote and message.granted and message.term != self.term + 1:
            return
        self._votes.setdefault(message.sender, message.granted)
        self._tally_votes()

    def _candidate_hears_leader(self, message: Message) -> None:
        """A leader of our term exists: stand down and let the follower handle its message."""
        self._become_follower(self.term, message.sender)
        self._handlers[type(message)](message)

    def _on_timeout_now(self, message: TimeoutNow) -> None:
        if self._promotable():
            self._campaign(pre_vote=False, transfer=True)  # the leader asked: skip pre-vote

    # --- follower: replication -------------------------------------------------------------------------

    def _hear_from_leader(self, leader_id: str) -> bool:
        """False if a second leader claims our term (impossible unless a peer is broken): drop its message."""
        if self.leader_id is None:
            self.leader_id = leader_id
        elif self.leader_id != leader_id:
            return False
        self._election_elapsed = 0
        return True

    def _on_append_entries(self, message: AppendEntries) -> None:
        if not self._hear_from_leader(message.sender):
            return
        entries = message.entries
        prev_index = message.prev_index
        if entries and (entries[0].index != prev_index + 1 or entries[-1].index != prev_index + len(entries)):
            return  # malformed
        log = self.log
        if prev_index < log.committed:
            # Everything up to our commit matches the leader already; tell it where we are.
            self._send_persisted(
                AppendEntriesResponse(self.node_id, message.sender, self.term, log.committed)
            )
            return
        result = log.maybe_append(prev_index, message.prev_term, entries)
        if result is None:
            hint_index, hint_term = log.find_conflict_by_term(prev_index, message.prev_term)
            self._send_persisted(
                AppendEntriesResponse(
                    self.node_id, message.sender, self.term, prev_index, True, hint_index, hint_term
                )
            )
            return
        last_new, truncated_from = result
        if truncated_from:
            self._configs.truncate_from(truncated_from)
        if entries and _CONF_CHANGE in map(_kind, entries):  # C-level scan: no Python call per entry
            for entry in entries:
                if entry.kind is _CONF_CHANGE and entry.index > self._configs.last_index:
                    self._append_config(entry)
        log.commit_to(min(message.commit, last_new))
        self._send_persisted(AppendEntriesResponse(self.node_id, message.sender, self.term, last_new))

    def _on_heartbeat(self, message: Heartbeat) -> None:
        if not self._hear_from_leader(message.sender):
            return
        self.log.commit_to(min(message.commit, self.log.last_index()))
        self._send(HeartbeatResponse(self.node_id, message.sender, self.term, message.read_round))

    def _on_install_snapshot(self, message: InstallSnapshot) -> None:
        if not self._hear_from_leader(message.sender):
            return
        log = self.log
        if message.index <= log.committed:
            self._send_persisted(
                InstallSnapshotResponse(self.node_id, message.sender, self.term, log.committed, 0, True)
            )
            return
        snapshot = self._snapshot_assembler.accept(message)
        if snapshot is None:
            offset = self._snapshot_assembler.expected_offset(message)
            self._send(
                InstallSnapshotResponse(self.node_id, message.sender, self.term, message.index, offset, False)
            )
            return
        if log.term(snapshot.index) == snapshot.term:
            log.commit_to(snapshot.index)  # we hold that entry: the log after it is still good (etcd does so)
        else:
            log.restore(snapshot)
            self._configs.reset(snapshot.membership, snapshot.index)
            self._last_snapshot = snapshot
        self._send_persisted(
            InstallSnapshotResponse(
                self.node_id, message.sender, self.term, snapshot.index, len(snapshot.data), True
            )
        )

    def _on_read_index_response(self, message: ReadIndexResponse) -> None:
        self._read_states.append(ReadState(message.index, message.ctx))

    # --- leader: replication ---------------------------------------------------------------------------

    def _send_append(self, to: str, progress: Progress, send_if_empty: bool) -> bool:
        """Send what `to` needs next, if its state allows; True if a message went out."""
        if progress.is_paused():
            return False
        log = self.log
        prev_index = progress.next - 1
        prev_term = log.term(prev_index)
        if prev_term is None:
            self._start_snapshot(to, progress)
            return True
        if prev_index < log.snapshot_index + len(log.entries):
            entries = log.batch(progress.next, self.config.max_append_entries, self.config.max_append_bytes)
        elif send_if_empty:
            entries = []
        else:
            return False
        self._msgs.append(
            AppendEntries(self.node_id, to, self.term, prev_index, prev_term, tuple(entries), log.committed)
        )
        progress.sent_entries(entries[-1].index if entries else prev_index)
        return True

    def _flush_replication(self) -> None:
        """Offer new entries and the new commit index to followers: once per Ready, so proposals batch up."""
        if self.role is not Role.LEADER or not (self._replicate_pending or self._commit_pending):
            return
        tell_commit = self._commit_pending
        self._replicate_pending = self._commit_pending = False
        for node_id, progress in self._progress.items():
            sent = False
            while self._send_append(node_id, progress, send_if_empty=False):
                sent = True
                if progress.state is not ProgressState.REPLICATE:
                    break
            if tell_commit and not sent:
                self._send_append(node_id, progress, send_if_empty=True)

    def _broadcast_heartbeat(self) -> None:
        commit = self.log.committed
        round_id = self._reads.last_round_id
        for node_id, progress in self._progress.items():
            self._send(Heartbeat(self.node_id, node_id, self.term, min(progress.match, commit), round_id))

    def _on_append_response(self, message: AppendEntriesResponse) -> None:
        progress = self._progress.get(message.sender)
        if progress is None:
            return
        progress.recent_active = True
        if message.reject:
            self._on_append_rejected(message, progress)
            return
        if message.index > self.log.last_index():
            return  # claims entries we never sent: not from a correct follower
        was_paused = progress.is_paused()
        probe_answered = progress.state is ProgressState.PROBE and progress.match == message.index
        if not progress.maybe_update(message.index) and not probe_answered:
            return  # old news
        if progress.state is ProgressState.PROBE:
            progress.become_replicate()
        elif progress.state is ProgressState.REPLICATE:
            progress.inflights.free_to(message.index)
        elif progress.snapshot is not None and progress.match >= progress.snapshot.index:
            progress.become_probe()
        committed = self._maybe_commit()
        if committed:
            self._on_commit_advanced()
            if self.role is not Role.LEADER:
                return  # our own removal committed
        if message.sender == self._lead_transferee and progress.match == self.log.last_index():
            self._send(TimeoutNow(self.node_id, message.sender, self.term))
        elif message.sender in self._configs.learners:
            self._maybe_promote_learners()
        if was_paused:
            sent = False
            while self._send_append(message.sender, progress, send_if_empty=False):
                sent = True
            if not sent and not committed:
                # It was paused, so it may have missed the latest commit index (etcd does the same).
                self._send_append(message.sender, progress, send_if_empty=True)

    def _on_append_rejected(self, message: AppendEntriesResponse, progress: Progress) -> None:
        if progress.state is ProgressState.SNAPSHOT:
            return  # an answer to an AppendEntries sent before the snapshot
        next_probe = message.hint_index
        if message.hint_term > 0:
            # Skip every entry of ours whose term is above the follower's hint term (fast back-off).
            next_probe, _ = self.log.find_conflict_by_term(message.hint_index, message.hint_term)
        if progress.maybe_decrease_to(message.index, next_probe):
            if progress.state is ProgressState.REPLICATE:
                progress.become_probe()
            self._send_append(message.sender, progress, send_if_empty=True)

    def _on_heartbeat_response(self, message: HeartbeatResponse) -> None:
        progress = self._progress.get(message.sender)
        if progress is None:
            return
        progress.recent_active = True
        progress.probe_sent = False
        if progress.state is ProgressState.SNAPSHOT:
            self._send_snapshot_chunk(message.sender, progress)  # retry a chunk that may have been lost
        else:
            if progress.state is ProgressState.REPLICATE and progress.inflights.full():
                progress.inflights.free_first()  # unblock a window whose acks were lost
            if progress.match < self.log.last_index():
                self._send_append(message.sender, progress, send_if_empty=True)
        if message.read_round > progress.read_ack:
            progress.read_ack = message.read_round
            self._check_read_round()

    def _maybe_commit(self) -> bool:
        """Raft §5.3/§5.4.2: commit the quorum-replicated index, but only an entry of our own term.

        The leader counts itself only up to its durable index (thesis §10.2.1).
        """
        log = self.log
        progress = self._progress
        me = self.node_id
        matches = [
            log.stable_index if voter == me else progress[voter].match for voter in self._configs.voters
        ]
        index = quorum.committed_index(matches)
        if index > log.committed and log.term(index) == self.term:
            log.committed = index
            return True
        return False

    def _on_commit_advanced(self) -> None:
        self._commit_pending = True
        if self.node_id not in self._configs.voters and self._configs.last_index <= self.log.committed:
            # Our own removal is committed: stop leading. Followers learn the commit first.
            self._flush_replication()
            self._become_follower(self.term, None)
            return
        self._maybe_start_read_round()
        self._maybe_promote_learners()

    # --- leader: snapshots -----------------------------------------------------------------------------

    def _start_snapshot(self, to: str, progress: Progress) -> None:
        snapshot = self._last_snapshot
        assert snapshot is not None, "the log was compacted without a snapshot"
        progress.become_snapshot(snapshot)
        self._send_snapshot_chunk(to, progress)

    def _send_snapshot_chunk(self, to: str, progress: Progress) -> None:
        snapshot = progress.snapshot
        assert snapshot is not None
        offset = progress.snapshot_offset
        chunk = snapshot.data[offset : offset + self.config.snapshot_chunk_bytes]
        done = offset + len(chunk) >= len(snapshot.data)
        self._send(
            InstallSnapshot(
                self.node_id,
                to,
                self.term,
                snapshot.index,
                snapshot.term,
                snapshot.membership,
                offset,
                chunk,
                done,
            )
        )

    def _on_snapshot_response(self, message: InstallSnapshotResponse) -> None:
        progress = self._progress.get(message.sender)
        if progress is None:
            return
        progress.recent_active = True
        if message.done:
            self._on_snapshot_installed(message, progress)
        else:
            self._on_snapshot_chunk_received(message, progress)

    def _on_snapshot_installed(self, message: InstallSnapshotResponse, progress: Progress) -> None:
        if message.index > self.log.last_index():
            return  # claims entries we never sent: not from a correct follower
        progress.maybe_update(message.index)
        if progress.state is ProgressState.SNAPSHOT:
            if progress.snapshot is None or progress.match < progress.snapshot.index:
                return  # done with an older snapshot than the one being sent
            progress.become_probe()
        if self._maybe_commit():
            self._on_commit_advanced()
            if self.role is not Role.LEADER:
                return
        self._send_append(message.sender, progress, send_if_empty=True)

    def _on_snapshot_chunk_received(self, message: InstallSnapshotResponse, progress: Progress) -> None:
        snapshot = progress.snapshot
        if (
            progress.state is not ProgressState.SNAPSHOT
            or snapshot is None
            or message.index != snapshot.index
        ):
            return
        if message.offset != progress.snapshot_offset and message.offset <= len(snapshot.data):
            progress.snapshot_offset = message.offset
            self._send_snapshot_chunk(message.sender, progress)

    # --- leader: membership (thesis §4.1, one server at a time) ----------------------------------------

    def _append_conf_change(self, change: ConfChange) -> int:
        index = self.log.last_index() + 1
        entry = Entry(self.term, index, _CONF_CHANGE, encode_conf_change(change))
        self.log.append((entry,))
        self._pending_conf_index = index
        self._append_config(entry)
        self._replicate_pending = True
        return index

    def _append_config(self, entry: Entry) -> None:
        try:
            change = decode_conf_change(entry.data)
        except CodecError:
            return  # a leader never appends this; treat a garbled change as a no-op rather than fail
        self._configs.append(entry.index, change)
        if self.role is Role.LEADER:
            self._sync_progress()

    def _sync_progress(self) -> None:
        """Track exactly the current members; the quorum may have changed, so re-check commit and reads."""
        ids = self.membership.ids
        next_index = self.log.last_index() + 1
        for member in self.membership.members:
            node_id = member.node_id
            if node_id != self.node_id and node_id not in self._progress:
                progress = Progress(next_index, self.config.max_inflight)
                progress.recent_active = True  # give a newcomer a full election timeout before it counts
                self._progress[node_id] = progress
        for node_id in [node_id for node_id in self._progress if node_id not in ids]:
            del self._progress[node_id]
        if self._lead_transferee is not None and self._lead_transferee not in self._configs.voters:
            self._lead_transferee = None
        self._check_read_round()
        if self._maybe_commit():
            self._on_commit_advanced()

    def _maybe_promote_learners(self) -> None:
        """A learner holding everything committed becomes a voter; the leader proposes it itself."""
        if self._pending_conf_index > self.log.committed or self._lead_transferee is not None:
            return
        committed = self.log.committed
        for node_id in sorted(self.membership.learners):
            progress = self._progress.get(node_id)
            if progress is not None and progress.match >= committed:
                self._append_conf_change(ConfChange(ConfChangeKind.PROMOTE, node_id))
                return

    # --- leader: ReadIndex (thesis §6.4) ---------------------------------------------------------------

    def _on_read_index_request(self, message: ReadIndexRequest) -> None:
        self._reads.add(message.sender, message.ctx)
        self._maybe_start_read_round()

    def _maybe_start_read_round(self) -> None:
        # Until an entry of our term commits we may not know the latest commit index (thesis §6.4 step 1).
        if self.log.term(self.log.committed) != self.term:
            return
        read_round = self._reads.start(self.log.committed)
        if read_round is None:
            return
        if self._check_read_round():
            return
        commit = self.log.committed
        for node_id, progress in self._progress.items():
            self._send(
                Heartbeat(self.node_id, node_id, self.term, min(progress.match, commit), read_round.round_id)
            )

    def _check_read_round(self) -> bool:
        """Release the round in flight once a quorum confirmed our leadership after it started."""
        read_round = self._reads.in_flight
        if read_round is None:
            return False
        round_id = read_round.round_id
        confirmed = {node_id for node_id, progress in self._progress.items() if progress.read_ack >= round_id}
        confirmed.add(self.node_id)
        if not quorum.has_quorum(self._configs.voters, confirmed):
            return False
        self._release_reads(self._reads.finish())
        self._maybe_start_read_round()
        return True

    def _release_reads(self, read_round: ReadRound) -> None:
        for origin, ctx in read_round.requests:
            if origin is None:
                self._read_states.append(ReadState(read_round.index, ctx))
            else:
                self._send(ReadIndexResponse(self.node_id, origin, self.term, read_round.index, ctx))

    # --- sending ---------------------------------------------------------------------------------------

    def _send(self, message: Message) -> None:
        self._msgs.append(message)

    def _send_persisted(self, message: Message) -> None:
        self._persisted_msgs.append(message)
