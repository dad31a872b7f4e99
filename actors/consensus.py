"""RaftActor: drives raft.core with ticks, peer messages and proposals, and carries out the work items of its
Ready pipeline (raft.pipeline.ReadyPipeline, which holds every ordering rule; this is the async shell).

Three tasks share the core and its pipeline (one event loop, so never at the same time): the mailbox task
feeds the core (step, tick, propose, read_index); the ready task takes the pipeline's work as soon as there
is some, sends, queues writes and hands committed entries to the state machine; the completion task awaits
the queued writes in order and carries out what each one's durability releases (acks, votes, advancing the
core). So new AppendEntries and newly committed entries never wait for an fsync under way, and every write
that arrives while one fsync runs joins the next (the storage's group commit).
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
from actors.state_machine import (
    Apply,
    AwaitApplied,
    LeadershipLost,
    LeadershipMoved,
    Restore,
    StateMachineActor,
)
from actors.transport import Transport
from raft import pipeline as work
from raft.core import RaftNode, Role
from raft.types import ConfChange, Membership, Snapshot

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
        self.pipeline = work.ReadyPipeline(node, MAX_IN_FLIGHT)
        self._storage = storage
        self._transport = transport
        self._state_machine = state_machine
        self._metrics = metrics
        self._tick_seconds = tick_seconds
        self._on_membership = on_membership
        self._on_leader = on_leader
        self._wake = asyncio.Event()
        # writes queued on the storage, oldest first, with the pipeline's number for each
        self._writes: deque[tuple[int, asyncio.Future[None]]] = deque()
        self._written = asyncio.Event()  # a write was queued: the completion task has work
        self._idle: asyncio.Future[None] | None = None  # resolved once the pipeline has nothing in flight
        self._reads: dict[bytes, asyncio.Future[int]] = {}
        self._read_ids = itertools.count(1)
        self._waiters: list[AwaitApplied] = []  # proposals since the last Apply, waiting for their outcome
        self._membership: Membership | None = None
        self._committed_membership: Membership | None = None
        self._leader: str | None = None
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
        """Stop taking Readies, then let the ones whose fsync is under way finish (bounded), and write a
        commit index that was waiting for the next write."""
        self.stopping = True
        async with asyncio.timeout(5):
            while not self.pipeline.idle:
                if self._idle is None or self._idle.done():
                    self._idle = asyncio.get_running_loop().create_future()
                await self._idle
            hard_state = self.pipeline.unwritten_hard_state()
            if hard_state is not None:
                with contextlib.suppress(Exception):  # a failed disk already stopped the node loudly
                    await self._storage.save(hard_state, ())

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
                    if reply is not None:  # handed to the state machine with the next Apply, before its own
                        self._waiters.append(AwaitApplied(index, node.term, reply))
                    return reply
                case ProposeConfChange(change):
                    index = node.propose_conf_change(change)
                    return (index, node.term)
                case ReadIndex():
                    return self._read_index()
                case TransferLeadership(to):
                    node.transfer_leadership(to)
                case Compact(snapshot):
                    await self._carry_out(self.pipeline.compact(snapshot))
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

    # --- carrying out the pipeline's work ---------------------------------------------------------------

    async def _ready_loop(self) -> None:
        pipeline = self.pipeline
        while True:
            await self._wake.wait()
            self._wake.clear()
            while not self.stopping:
                items = pipeline.take()
                if not items:
                    break
                await self._carry_out(items)
                self._after_advance()

    async def _completion_loop(self) -> None:
        """Await the queued writes in order; each one's durability releases its acks and votes and advances
        the core (the pipeline says what, in order)."""
        writes = self._writes
        while True:
            if not writes:
                self._notice_idle()
                await self._written.wait()
                self._written.clear()
                continue
            number, write = writes[0]
            await write
            writes.popleft()
            await self._carry_out(self.pipeline.persisted(number))
            self._after_advance()
            self._wake.set()

    async def _carry_out(self, items: list[work.Work]) -> None:
        for item in items:
            match item:
                case work.Send(messages):
                    self._notice_membership()  # a new member must be reachable before messages to it leave
                    self._transport.send_raft(messages)
                case work.Persist(number, hard_state, entries, None):
                    # Queued before the state machine sees this Ready's entries, so a snapshot it takes of
                    # them is written after them.
                    self._writes.append((number, self._storage.save_nowait(hard_state, entries)))
                    self._written.set()
                case work.Persist(number, hard_state, entries, snapshot):
                    # Carried out alone (nothing else is in flight): written here, then what it releases.
                    await self._storage.save_snapshot(snapshot)
                    if hard_state is not None or entries:
                        await self._storage.save(hard_state, entries)
                    await self._carry_out(self.pipeline.persisted(number))
                case work.Restore(snapshot):
                    await self._state_machine.deliver(Restore(snapshot))
                case work.Apply(entries):
                    waiters, self._waiters = tuple(self._waiters), []
                    await self._state_machine.deliver(Apply(tuple(entries), waiters))
                case work.ReleaseReads(read_states):
                    for read_state in read_states:
                        resolve(self._reads.pop(read_state.ctx, None), read_state.index)
                case work.Compacted():
                    pass  # the storage dropped its segments when the state machine saved the snapshot
                case _:
                    raise TypeError(f"{self.name}: unexpected work item {item!r}")

    def _notice_idle(self) -> None:
        if self.pipeline.idle:
            resolve(self._idle, None)

    def _after_advance(self) -> None:
        self._notice_membership()
        if self._leader != self.node.leader_id:
            self._notice_leader()
        self._update_gauges()
        self._notice_idle()

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
            lost = LeadershipLost("this node stopped leading before the entry applied")
            for waiter in self._waiters:  # not handed to the state machine yet
                reject(waiter.reply, lost)
            self._waiters = []
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
