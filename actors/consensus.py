"""RaftActor: drives raft.core with ticks, peer messages and proposals, and carries out its Ready batches.

Three tasks share the core (one event loop, so never at the same time): the mailbox task feeds it (step,
tick, propose, read_index); the ready task takes each Ready as soon as the core has one, sends its messages,
hands its committed entries to the state machine and queues its write; the completion task waits for those
writes in order, then sends what needed them (acks, votes) and advances the core. So new AppendEntries and
newly committed entries never wait for an fsync under way (the core's pipelined Ready contract, see
RaftNode.ready), and every write that arrives while one fsync runs joins the next (the storage's group
commit). A Ready holding a snapshot from the leader is carried out alone, after the ones before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from actors.base import Actor, ActorError, reject, resolve
from actors.metrics import NodeMetrics
from actors.state_machine import Apply, AwaitApplied, LeadershipMoved, Restore, StateMachineActor
from actors.transport import Transport
from raft.core import RaftNode, Role
from raft.ready import Ready
from raft.types import ConfChange, HardState, Membership, Snapshot

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 1024  # Readies handed out, not yet durable; past it the core gathers fewer, larger ones


# --- messages --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tick:
    pass


TICK = Tick()


@dataclass(frozen=True, slots=True)
class Step:
    message: Any


@dataclass(frozen=True, slots=True)
class Propose:
    """Answered with (index, term) of the appended entry; NotLeader / ProposalDropped otherwise."""

    data: bytes


@dataclass(frozen=True, slots=True)
class ProposeAndAwait:
    """Answered, by the state machine, with the outcome of the entry once applied (see AwaitApplied);
    NotLeader / ProposalDropped at once. One ask for a whole write."""

    data: bytes


@dataclass(frozen=True, slots=True)
class ProposeConfChange:
    change: ConfChange


@dataclass(frozen=True, slots=True)
class ReadIndex:
    """Answered with the read index once leadership is confirmed; NotLeader if no leader is known."""


@dataclass(frozen=True, slots=True)
class TransferLeadership:
    to: str


@dataclass(frozen=True, slots=True)
class Compact:
    snapshot: Snapshot


class RaftActor(Actor):
    def __init__(
        self,
        node: RaftNode,
        storage: Any,
        transport: Transport,
        state_machine: StateMachineActor,
        metrics: NodeMetrics,
        *,
        tick_seconds: float = 0.05,
        on_membership: Callable[[Membership], None] | None = None,
        on_leader: Callable[[str | None], None] | None = None,
        supervisor: Any = None,
        mailbox_size: int = 16384,
    ) -> None:
        super().__init__(f"{node.node_id}.raft", mailbox_size=mailbox_size, supervisor=supervisor)
        self.node = node
        self._storage = storage
        self._transport = transport
        self._state_machine = state_machine
        self._metrics = metrics
        self._tick_seconds = tick_seconds
        self._on_membership = on_membership
        self._on_leader = on_leader
        self._wake = asyncio.Event()
        self._carrying = False  # a Ready with a snapshot is being carried out on its own
        # Readies handed out, oldest first, each with its write (None: nothing to persist) until advanced
        self._in_flight: deque[tuple[Ready, asyncio.Future[None] | None]] = deque()
        self._written = asyncio.Event()  # a write was queued: the completion task has work
        self._drained: asyncio.Future[None] | None = None
        self._written_term_vote = (node.term, node.vote)  # as recovered: durable
        self._deferred_hard_state: HardState | None = None  # only its commit index is not on disk yet
        self._reads: dict[bytes, asyncio.Future[int]] = {}
        self._read_ids = itertools.count(1)
        self._membership: Membership | None = None
        self._committed_membership: Membership | None = None
        self._leader: str | None = None
        self._snapshot_index = 0
        self._compactions: list[Snapshot] = []
        self.stopping = False

    # --- lifecycle ----------------------------------------------------------------------------------

    async def on_start(self) -> None:
        self._notice_membership()
        self._notice_leader()
        self._update_gauges()
        self.spawn(self._ready_loop(), "ready", forever=True)
        self.spawn(self._completion_loop(), "completion", forever=True)
        self.every(self._tick_seconds, lambda: TICK, "tick")
        self._wake.set()

    async def on_stop(self) -> None:
        """Stop taking messages, then let the Readies whose fsync is under way finish (bounded)."""
        self.stopping = True
        async with asyncio.timeout(5):
            while self._carrying or self._in_flight:
                await asyncio.sleep(0.005)
            if self._deferred_hard_state is not None:
                with contextlib.suppress(Exception):  # a failed disk already stopped the node loudly
                    await self._storage.save(self._deferred_hard_state, ())

    # --- the mailbox ----------------------------------------------------------------------------------

    async def handle(self, message: Any) -> Any:
        node = self.node
        try:
            match message:
                case Step(raft_message):
                    node.step(raft_message)
                case Tick():
                    node.tick()
                case ProposeAndAwait(data):
                    index = node.propose(data)
                    self._metrics.proposals.inc()
                    reply = self.current_reply
                    self._state_machine.tell(AwaitApplied(index, node.term, reply))  # before its Apply
                    return reply
                case Propose(data):
                    index = node.propose(data)
                    self._metrics.proposals.inc()
                    return (index, node.term)
                case ProposeConfChange(change):
                    index = node.propose_conf_change(change)
                    return (index, node.term)
                case ReadIndex():
                    return self._read_index()
                case TransferLeadership(to):
                    node.transfer_leadership(to)
                case Compact(snapshot):
                    self._compactions.append(snapshot)
                case _:
                    raise TypeError(f"{self.name}: unexpected message {message!r}")
            return None
        finally:
            if self._leader != node.leader_id:
                self._notice_leader()
            self._wake.set()

    def _read_index(self) -> asyncio.Future[int]:
        ctx = next(self._read_ids).to_bytes(8, "big")
        self.node.read_index(ctx)  # raises NotLeader before anything is registered
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._reads[ctx] = future
        future.add_done_callback(lambda _f: self._reads.pop(ctx, None))
        return future

    # --- the Ready loop -------------------------------------------------------------------------------

    async def _ready_loop(self) -> None:
        node = self.node
        while True:
            await self._wake.wait()
            self._wake.clear()
            while not self.stopping and len(self._in_flight) < MAX_IN_FLIGHT and node.has_ready():
                ready = node.ready()
                if ready.snapshot is None:
                    await self._hand_out(ready)
                    continue
                self._carrying = True
                try:
                    await self._drain()
                    await self._carry_out(ready)
                finally:
                    self._carrying = False
            if self._compactions and not self.stopping:
                self._compact()

    async def _hand_out(self, ready: Ready) -> None:
        """Send, queue the write, apply: nothing here waits for a disk."""
        self._notice_membership()  # a new member must be reachable before messages to it leave
        self._transport.send_raft(ready.messages)
        write = None
        hard_state = self._hard_state_to_write(ready)
        if hard_state is not None or ready.entries:
            # Ordered before the state machine sees this Ready's entries, so a snapshot it takes of them
            # is written after them.
            write = self._storage.save_nowait(hard_state, ready.entries)
        self._in_flight.append((ready, write))
        self._written.set()
        if ready.committed_entries:
            await self._state_machine.deliver(Apply(tuple(ready.committed_entries)))
        for read_state in ready.read_states:
            resolve(self._reads.pop(read_state.ctx, None), read_state.index)

    def _hard_state_to_write(self, ready: Ready) -> HardState | None:
        """The hard state to write with `ready`, if any. A change of the commit index alone need not be
        durable (recovery clamps it to the log, and the leader teaches it again; etcd's MustSync), so it
        waits to ride along with the next write instead of costing an fsync of its own, which the next
        write would queue behind."""
        hard_state = ready.hard_state or self._deferred_hard_state
        if hard_state is None:
            return None
        if not ready.entries and (hard_state.term, hard_state.vote) == self._written_term_vote:
            self._deferred_hard_state = hard_state
            return None
        self._deferred_hard_state = None
        self._written_term_vote = (hard_state.term, hard_state.vote)
        return hard_state

    async def _completion_loop(self) -> None:
        """Advance the handed-out Readies in order, each once its write (and so every earlier one) is
        durable; only then may its acks and votes leave."""
        node = self.node
        in_flight = self._in_flight
        while True:
            if not in_flight:
                resolve(self._drained, None)
                await self._written.wait()
                self._written.clear()
                continue
            ready, write = in_flight[0]
            if write is not None:
                await write
            in_flight.popleft()
            self._transport.send_raft(ready.persisted_messages)
            node.advance(ready)
            self._after_advance()
            self._wake.set()

    async def _drain(self) -> None:
        while self._in_flight:
            if self._drained is None or self._drained.done():
                self._drained = asyncio.get_running_loop().create_future()
            await self._drained

    async def _carry_out(self, ready: Ready) -> None:
        """A Ready with a snapshot, alone: persist, restore, send, apply, advance."""
        node = self.node
        self._notice_membership()  # a new member must be reachable before messages to it leave
        self._transport.send_raft(ready.messages)
        if ready.snapshot is not None:
            await self._storage.save_snapshot(ready.snapshot)
            self._snapshot_index = max(self._snapshot_index, ready.snapshot.index)
        hard_state = ready.hard_state or self._deferred_hard_state
        if hard_state is not None or ready.entries:
            self._deferred_hard_state = None
            if hard_state is not None:
                self._written_term_vote = (hard_state.term, hard_state.vote)
            await self._storage.save(hard_state, ready.entries)
        if ready.snapshot is not None:
            await self._state_machine.deliver(Restore(ready.snapshot))
        self._transport.send_raft(ready.persisted_messages)
        if ready.committed_entries:
            await self._state_machine.deliver(Apply(tuple(ready.committed_entries)))
        for read_state in ready.read_states:
            resolve(self._reads.pop(read_state.ctx, None), read_state.index)
        node.advance(ready)
        self._after_advance()

    def _after_advance(self) -> None:
        self._notice_membership()
        if self._leader != self.node.leader_id:
            self._notice_leader()
        self._update_gauges()

    def _compact(self) -> None:
        pending, self._compactions = self._compactions, []
        for snapshot in sorted(pending, key=lambda s: s.index):
            if snapshot.index <= self._snapshot_index:
                continue  # a newer snapshot (e.g. one the leader sent) already covers it
            if snapshot.index > self.node.applied_index:
                self._compactions.append(snapshot)
                continue
            self.node.compact(snapshot)
            self._snapshot_index = snapshot.index

    # --- watching the core ------------------------------------------------------------------------------

    def _notice_membership(self) -> None:
        committed = self.node.committed_membership
        if committed is not self._committed_membership and committed != self._committed_membership:
            self._committed_membership = committed
            self._transport.set_committed_peers({member.node_id: member.addr for member in committed.members})
        membership = self.node.membership
        if membership is self._membership or membership == self._membership:
            self._membership = membership
            return
        self._membership = membership
        if self._on_membership is not None:
            self._on_membership(membership)

    def _notice_leader(self) -> None:
        leader = self.node.leader_id
        if leader == self._leader:
            return
        previous, self._leader = self._leader, leader
        self._metrics.leader_changes.inc()
        self._metrics.is_leader.set(1 if leader == self.node.node_id else 0)
        log.info("%s: leader %s -> %s (term %d)", self.name, previous, leader, self.node.term)
        if leader is None or previous is not None:
            failed = NotLeaderAnymore(f"leadership moved from {previous} to {leader}")
            for future in list(self._reads.values()):
                reject(future, failed)
        if previous == self.node.node_id:
            with contextlib.suppress(ActorError):  # full: the writes time out instead of retrying early
                self._state_machine.tell(LeadershipMoved())
        if self._on_leader is not None:
            self._on_leader(leader)

    def _update_gauges(self) -> None:
        self._metrics.term.set(self.node.term)
        self._metrics.commit_index.set(self.node.commit_index)

    # --- read-only views for the bridge ------------------------------------------------------------------

    @property
    def role(self) -> Role:
        return self.node.role

    @property
    def leader_id(self) -> str | None:
        return self.node.leader_id


class NotLeaderAnymore(Exception):
    """A pending read index was abandoned because the leader changed: ask again."""
