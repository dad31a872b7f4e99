"""HttpBridgeActor: what the HTTP layer calls (httpapi.bridge.Bridge), and the leader's side of forwarding.

A write on the leader is proposed here; on a follower it is forwarded to the leader over ZeroMQ and the
answer comes back to the node the client called. Every write carries an idempotency key (the client's, or
one made here), so retrying it after a leader change or a lost frame applies it once. Linearizable reads
take a read index from Raft (the core asks the leader when we follow), wait until this node has applied
that far, and answer from the local farm.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from actors.base import Actor, ActorCrashed, ActorStopped, MailboxFull, reject, resolve
from actors.codec import (
    ForwardFailed,
    ForwardJoin,
    ForwardRemove,
    ForwardReply,
    ForwardRequest,
    ForwardTransfer,
    ForwardWrite,
)
from actors.consensus import NotLeaderAnymore, ProposeAndAwait, RaftActor, ReadIndex, TransferLeadership
from actors.frame_limits import MAX_ENTRY_BYTES
from actors.membership import Join, MembershipActor, Remove
from actors.metrics import NodeMetrics
from actors.state_machine import LeadershipLost, QueryAt, StateMachineActor
from actors.transport import Transport
from farm.codec import encode_command, encode_proposal
from farm.commands import Command
from farm.queries import Query
from farm.quota import may_grow, quota_exceeded
from farm.results import Ok, Outcome, Rejected
from farm.roles import Needed as TokenRole
from farm.roles import encoded_command_role
from farm.tokens import TokenTable, authorize
from httpapi.bridge import (
    CALLER_ROLE,
    BridgeError,
    ChangeKind,
    Consistency,
    EventStream,
    MemberInfo,
    NodeStopping,
    NoLeader,
    PendingChange,
    RaftRole,
    RaftStatus,
    RequestTimeout,
)
from raft.core import Role
from raft.errors import NotLeader, ProposalDropped
from raft.types import ConfChange, ConfChangeKind

log = logging.getLogger(__name__)

FORWARD_ATTEMPT = 2.5  # a forwarded request unanswered this long is sent again (same idempotency key)
READ_ATTEMPT = 1.0  # a read index unanswered this long is asked again
RETRY_BACKOFF = (0.01, 0.25)  # first and largest pause between attempts
MAX_SERVING = 16384  # forwarded requests served at once; past it the forwarder is told busy and retries

_ROLE_WORDS: dict[Role, RaftRole] = {
    Role.LEADER: "Leader",
    Role.CANDIDATE: "Candidate",
    Role.PRE_CANDIDATE: "Follower",
    Role.FOLLOWER: "Follower",
}


class _Retry(Exception):
    """This attempt failed in a way another attempt (maybe at another leader) can fix."""


# /readyz: a node is ready once it has applied the leader's commit index as of the check, give or take this
# many entries (a follower under steady writes is always a few behind; one replaying a backlog is not).
READY_LAG = 100
READY_CHECK_SECONDS = 1.0
_RETRYABLE = (_Retry, NotLeader, ProposalDropped, LeadershipLost, NotLeaderAnymore, TimeoutError)


class HttpBridgeActor(Actor):
    def __init__(
        self,
        node_id: str,
        raft: RaftActor,
        state_machine: StateMachineActor,
        membership: MembershipActor,
        transport: Transport,
        metrics: NodeMetrics,
        *,
        request_timeout: float = 5.0,
        supervisor: Any = None,
        max_state_bytes: int | None = None,
    ) -> None:
        super().__init__(f"{node_id}.bridge", mailbox_size=16384, supervisor=supervisor)
        self.node_id = node_id
        self.request_timeout = request_timeout
        self.max_state_bytes = max_state_bytes
        self.stopping = False
        self._raft = raft
        self._sm = state_machine
        self._membership = membership
        self._transport = transport
        self._metrics = metrics
        self._key_prefix = f"~{node_id}:{os.urandom(6).hex()}:"
        self._key_ids = itertools.count(1)
        self._forwards: dict[int, tuple[str, asyncio.Future[Outcome]]] = {}
        self._leader_moved: asyncio.Future[str | None] | None = None
        self._serving: set[asyncio.Task[Any]] = set()

    async def on_stop(self) -> None:
        self.stopping = True
        for task in self._serving:
            task.cancel()
        for _leader, future in self._forwards.values():
            reject(future, NodeStopping("the node is stopping"))

    # --- Bridge: writes ---------------------------------------------------------------------------------

    async def write(self, command: Command, idempotency_key: str | None = None) -> Outcome:
        key = idempotency_key or f"{self._key_prefix}{next(self._key_ids)}"
        data = encode_command(command)
        role = CALLER_ROLE.get()
        return await self._at_leader(
            lambda remaining: self._write_here(data, key, remaining, role),
            lambda request_id: ForwardWrite(request_id, data, key, role),
        )

    async def _write_here(self, command: bytes, key: str, remaining: float, role: str | None) -> Outcome:
        refusal = self._authorize(role, encoded_command_role(command))
        if refusal is not None:
            return refusal
        quota = self.max_state_bytes
        if quota is not None and self._sm.state_size.value > quota and may_grow(command):
            self._sm.measure_state()  # maybe the estimate is stale and deletes made room
            if self._sm.state_size.value > quota:
                self._metrics.refused("quota_exceeded")
                return quota_exceeded(self._sm.state_size.value, quota)
        proposal = encode_proposal(command, int(time.time() * 1000), key)
        if len(proposal) > MAX_ENTRY_BYTES:  # no peer would accept the frame that carries it
            return Rejected("invalid_field", f"the request is too large to replicate ({len(proposal)} bytes)")
        return await self._raft.ask(ProposeAndAwait(proposal), remaining)

    # --- Bridge: reads ----------------------------------------------------------------------------------

    async def read(self, query: Query, consistency: Consistency = "linearizable") -> Outcome:
        self._check_running()
        if consistency == "stale":
            return await self._guard(self._sm.ask(QueryAt(query, 0), self.request_timeout))
        deadline = time.monotonic() + self.request_timeout
        attempt = 0
        while True:
            await self._leader(deadline)
            try:
                index = await self._guard(self._raft.ask(ReadIndex(), min(_left(deadline), READ_ATTEMPT)))
                return await self._guard(self._sm.ask(QueryAt(query, index), _left(deadline)))
            except _RETRYABLE:
                attempt += 1
                await self._pause(attempt, deadline)

    # --- Bridge: membership -----------------------------------------------------------------------------

    async def join(self, node_id: str, addr: str) -> Outcome:
        role = CALLER_ROLE.get()
        return await self._membership_change(
            lambda remaining: self._join_here(node_id, addr, remaining, role),
            lambda request_id: ForwardJoin(request_id, node_id, addr, role),
        )

    async def _join_here(self, node_id: str, addr: str, remaining: float, role: str | None) -> Outcome:
        refusal = self._authorize(role, "admin")
        if refusal is not None:
            return refusal
        return await self._membership.ask(Join(node_id, addr, remaining), remaining)

    async def remove_member(self, node_id: str) -> Outcome:
        role = CALLER_ROLE.get()
        return await self._membership_change(
            lambda remaining: self._remove_here(node_id, remaining, role),
            lambda request_id: ForwardRemove(request_id, node_id, role),
        )

    async def _remove_here(self, node_id: str, remaining: float, role: str | None) -> Outcome:
        refusal = self._authorize(role, "admin")
        if refusal is not None:
            return refusal
        return await self._membership.ask(Remove(node_id, remaining), remaining)

    async def _membership_change(
        self,
        here: Callable[[float], Awaitable[Outcome]],
        forward: Callable[[int], ForwardRequest],
    ) -> Outcome:
        """A membership change not known to be committed at the deadline is change_pending (503): see
        MembershipActor; the leader answers so itself when it can, this covers a lost answer."""
        try:
            return await self._at_leader(here, forward)
        except RequestTimeout:
            pending = self._raft.node.pending_conf_change()
            where = f" (pending at index {pending[0]})" if pending is not None else ""
            return Rejected(
                "change_pending",
                f"The membership change was not confirmed within the request timeout{where}; it takes "
                "effect only if it commits later: see pending_change in GET /raft/status.",
            )

    async def transfer_leadership(self, to: str) -> Outcome:
        role = CALLER_ROLE.get()
        return await self._at_leader(
            lambda remaining: self._transfer_here(to, remaining, role),
            lambda request_id: ForwardTransfer(request_id, to, role),
        )

    async def _transfer_here(self, to: str, remaining: float, role: str | None) -> Outcome:
        refusal = self._authorize(role, "admin")
        if refusal is not None:
            return refusal
        deadline = time.monotonic() + remaining
        if to == self.node_id:
            return Ok(None)
        try:
            await self._raft.ask(TransferLeadership(to), remaining)
        except ValueError as exc:
            return Rejected("invalid_field", f"{to} cannot lead: {exc}", "to")
        while self._raft.leader_id != to:
            await self._leader_change(_left(deadline))
        return Ok(None)

    # --- Bridge: status -----------------------------------------------------------------------------------

    def raft_state(self) -> RaftRole:
        return _ROLE_WORDS[self._raft.node.role]

    def raft_status(self) -> RaftStatus:
        node = self._raft.node
        members = tuple(
            MemberInfo(m.node_id, m.addr, "voter" if m.voter else "learner") for m in node.membership.members
        )
        return RaftStatus(
            node_id=self.node_id,
            state=self.raft_state(),
            term=node.term,
            leader_id=node.leader_id,
            commit_index=node.commit_index,
            applied_index=self._sm.applied_index,
            members=members,
            pending_change=_pending_change(node.pending_conf_change()),
        )

    def is_ready(self) -> bool:
        node = self._raft.node
        return node.leader_id is not None and self._sm.applied_index >= node.commit_index

    async def caught_up(self) -> bool:
        """Applied what the leader had committed when we asked (a ReadIndex round), within READY_LAG."""
        if not self.is_ready():
            return False
        try:
            index = await self._guard(self._raft.ask(ReadIndex(), READY_CHECK_SECONDS))
        except (*_RETRYABLE, BridgeError):
            return False
        return self._sm.applied_index + READY_LAG >= index

    def metrics(self) -> tuple[bytes, str]:
        self._metrics.applied_index.set(self._sm.applied_index)
        return self._metrics.exposition()

    async def open_events(self, after_index: int) -> EventStream:
        self._check_running()
        # The fan-out is the state machine's own object, called in its loop: no mailbox trip needed.
        return self._sm.events.subscribe(after_index)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self._metrics.observe_request(method, route, status, seconds)

    def tokens(self) -> TokenTable:
        return self._sm.farm.tokens()

    def _authorize(self, role: str | None, needed: TokenRole | None) -> Rejected | None:
        """The leader's own check (a follower authenticated the caller and forwarded its role): by this
        node's applied tokens, so a request is refused here once the bootstrap applied, whatever the
        follower had applied when it took the request."""
        return authorize(self._sm.farm.tokens(), role, needed)

    # --- the leader: one place that retries, forwards and waits ------------------------------------------

    async def _at_leader(
        self,
        here: Callable[[float], Awaitable[Outcome]],
        forward: Callable[[int], ForwardRequest],
    ) -> Outcome:
        self._check_running()
        deadline = time.monotonic() + self.request_timeout
        attempt = 0
        while True:
            leader = await self._leader(deadline)
            try:
                if leader == self.node_id:
                    return await self._guard(here(_left(deadline)))
                return await self._forward(leader, forward, _left(deadline))
            except _RETRYABLE as exc:
                log.debug("%s: attempt %d failed: %r", self.name, attempt, exc)
                attempt += 1
                await self._pause(attempt, deadline)

    async def _forward(self, leader: str, make: Callable[[int], ForwardRequest], remaining: float) -> Outcome:
        request_id = self._new_request_id()
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._forwards[request_id] = (leader, future)
        try:
            if not self._transport.post(leader, make(request_id)):
                raise _Retry(f"no link to the leader {leader}")
            self._metrics.forwarded.inc()
            async with asyncio.timeout(min(remaining, FORWARD_ATTEMPT)):
                return await future
        finally:
            self._forwards.pop(request_id, None)

    def _new_request_id(self) -> int:
        """Unguessable (64 random bits), so that no one but the leader that got the request can answer it."""
        while True:
            request_id = secrets.randbits(64)
            if request_id not in self._forwards:
                return request_id

    async def _leader(self, deadline: float) -> str:
        while True:
            leader = self._raft.leader_id
            if leader is not None:
                return leader
            self._check_running()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NoLeader("no leader is known")
            try:
                await self._leader_change(remaining)
            except TimeoutError:
                continue

    async def _pause(self, attempt: int, deadline: float) -> None:
        """Back off before the next attempt; at the deadline, say why we gave up."""
        self._check_running()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            if self._raft.leader_id is None:
                raise NoLeader("no leader is known")
            raise RequestTimeout("the request's outcome is not known within the timeout")
        first, largest = RETRY_BACKOFF
        pause = min(remaining, largest, first * 2 ** min(attempt, 10))
        with contextlib.suppress(TimeoutError):
            await self._leader_change(pause)  # a new leader is worth trying at once

    async def _leader_change(self, timeout: float) -> str | None:
        if self._leader_moved is None or self._leader_moved.done():
            self._leader_moved = asyncio.get_running_loop().create_future()
        async with asyncio.timeout(max(timeout, 0)):
            return await asyncio.shield(self._leader_moved)

    def leader_changed(self, leader: str | None) -> None:
        """Called by the RaftActor: wake waiters, and retry forwards sent to the old leader at once."""
        resolve(self._leader_moved, leader)
        for old, future in list(self._forwards.values()):
            if old != leader:
                reject(future, _Retry(f"the leader changed from {old} to {leader}"))

    async def _guard(self, call: Awaitable[Any]) -> Any:
        """Actor failures as the HTTP layer understands them."""
        try:
            return await call
        except MailboxFull as exc:
            raise BridgeError(f"this node is overloaded ({exc}); retry shortly") from exc
        except (ActorStopped, ActorCrashed) as exc:
            raise NodeStopping(str(exc)) from exc

    def _check_running(self) -> None:
        if self.stopping:
            raise NodeStopping("the node is stopping")

    # --- peer frames: requests to us as the leader, and answers to what we forwarded ------------------

    # The node's frame router calls these two directly, in the loop turn the frame arrived in (a trip
    # through the mailbox would cost each forwarded request a turn on both nodes); like the HTTP layer's
    # calls, they only start work and resolve futures, never wait.

    def serve_peer(self, sender: str, frame: ForwardRequest) -> None:
        """Serve a request another node forwarded to us; the answer goes back to it. MailboxFull (the
        caller answers busy) while MAX_SERVING forwarded requests are already being served; ActorStopped
        once the bridge stops."""
        self._check_alive()
        if len(self._serving) >= MAX_SERVING:
            raise MailboxFull(f"{self.name}: {len(self._serving)} forwarded requests in progress")
        task = asyncio.get_running_loop().create_task(self._serve(sender, frame))
        self._serving.add(task)
        task.add_done_callback(self._serving.discard)

    def peer_answered(self, sender: str, frame: ForwardReply | ForwardFailed) -> None:
        """The leader's answer to a request we forwarded: only the node we sent it to may answer it."""
        pending = self._forwards.get(frame.request_id)
        if pending is None or pending[0] != sender:
            return  # given up on, answered already, or not an answer from the node we asked
        if isinstance(frame, ForwardReply):
            resolve(pending[1], frame.outcome)
        else:
            reason = f"the leader could not serve it: {frame.reason} (leader {frame.leader_id})"
            reject(pending[1], _Retry(reason))

    async def _serve(self, sender: str, frame: ForwardRequest) -> None:
        request_id = frame.request_id
        reply: ForwardReply | ForwardFailed
        try:
            if self.stopping:
                raise NodeStopping("stopping")
            if self._raft.leader_id != self.node_id:
                raise NotLeader(self._raft.leader_id)
            remaining = self.request_timeout
            match frame:
                case ForwardWrite(_, command, key, role):
                    outcome = await self._guard(self._write_here(command, key, remaining, role))
                case ForwardJoin(_, node_id, addr, role):
                    outcome = await self._guard(self._join_here(node_id, addr, remaining, role))
                case ForwardRemove(_, node_id, role):
                    outcome = await self._guard(self._remove_here(node_id, remaining, role))
                case ForwardTransfer(_, to, role):
                    outcome = await self._guard(self._transfer_here(to, remaining, role))
            reply = ForwardReply(request_id, outcome)
        except NotLeader as exc:
            reply = ForwardFailed(request_id, "not_leader", exc.leader_id)
        except (LeadershipLost, NotLeaderAnymore, ProposalDropped):
            reply = ForwardFailed(request_id, "leadership_lost", self._raft.leader_id)
        except TimeoutError:
            reply = ForwardFailed(request_id, "timeout", self._raft.leader_id)
        except NodeStopping:
            reply = ForwardFailed(request_id, "stopping")
        except BridgeError:
            reply = ForwardFailed(request_id, "busy")
        self._transport.post(sender, reply)


def _pending_change(pending: tuple[int, int, ConfChange] | None) -> PendingChange | None:
    if pending is None:
        return None
    index, _term, change = pending
    return PendingChange(index, _CHANGE_KINDS[change.kind], change.node_id, change.addr)


_CHANGE_KINDS: dict[ConfChangeKind, ChangeKind] = {
    ConfChangeKind.ADD_LEARNER: "add_learner",
    ConfChangeKind.PROMOTE: "promote",
    ConfChangeKind.REMOVE: "remove",
}


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())
