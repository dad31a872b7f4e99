"""MembershipActor: joins and removals (on the leader), and joining a cluster by ourselves at start.

A join adds the node as a learner (ConfChange ADD_LEARNER) and answers once that entry is applied; the
core promotes the learner to voter when it has caught up. Only one change can be in flight, so a join that
meets another change in progress waits for that one to apply, then tries again, until the request deadline.
"""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from actors.base import Actor
from actors.consensus import ProposeConfChange, RaftActor
from actors.state_machine import AwaitApplied, LeadershipLost, StateMachineActor
from farm.results import Ok, Outcome, Rejected
from raft.errors import ConfChangeInProgress
from raft.types import ConfChange, ConfChangeKind, Membership

log = logging.getLogger(__name__)

JOIN_BACKOFF_MIN = 0.2
JOIN_BACKOFF_MAX = 5.0


def peer_addresses(membership: Membership) -> dict[str, str]:
    """The address book the transport connects to."""
    return {member.node_id: member.addr for member in membership.members}


@dataclass(frozen=True, slots=True)
class Join:
    node_id: str
    addr: str
    timeout: float


@dataclass(frozen=True, slots=True)
class Remove:
    node_id: str
    timeout: float


class MembershipActor(Actor):
    def __init__(
        self,
        node_id: str,
        raft_addr: str,
        raft: RaftActor,
        state_machine: StateMachineActor,
        *,
        join_url: str | None = None,
        supervisor: Any = None,
    ) -> None:
        super().__init__(f"{node_id}.membership", mailbox_size=1024, supervisor=supervisor)
        self.node_id = node_id
        self.raft_addr = raft_addr
        self._raft = raft
        self._state_machine = state_machine
        self._join_url = join_url
        self._work: set[asyncio.Task[Any]] = set()

    async def on_start(self) -> None:
        if self._join_url:
            self.spawn(self._join_at_start(self._join_url), "join-at-start")

    async def on_stop(self) -> None:
        for task in self._work:
            task.cancel()

    async def handle(self, message: Any) -> Any:
        match message:
            case Join(node_id, addr, timeout):
                return self._later(self._join(node_id, addr, timeout))
            case Remove(node_id, timeout):
                return self._later(self._remove(node_id, timeout))
        raise TypeError(f"{self.name}: unexpected message {message!r}")

    def _later(self, coro: Any) -> asyncio.Future[Any]:
        """Run a membership change without holding the mailbox; its result or error is the answer."""
        task = asyncio.get_running_loop().create_task(coro)
        self._work.add(task)
        task.add_done_callback(self._work.discard)
        return task

    # --- changes (leader only: NotLeader goes back to the bridge, which forwards) ------------------------

    async def _join(self, node_id: str, addr: str, timeout: float) -> Outcome:
        existing = self._raft.node.membership.get(node_id)
        if existing is not None and existing.addr == addr:
            return Ok({"node_id": node_id, "addr": addr, "status": "joined"})
        outcome = await self._change(ConfChange(ConfChangeKind.ADD_LEARNER, node_id, addr), timeout)
        if isinstance(outcome, Rejected):
            return outcome
        log.info("%s: %s joined at %s", self.name, node_id, addr)
        return Ok({"node_id": node_id, "addr": addr, "status": "joined"})

    async def _remove(self, node_id: str, timeout: float) -> Outcome:
        if self._raft.node.membership.get(node_id) is None:
            return Rejected("not_found", f"{node_id} is not a member of this cluster.")
        outcome = await self._change(ConfChange(ConfChangeKind.REMOVE, node_id), timeout)
        if isinstance(outcome, Ok):
            log.info("%s: %s removed", self.name, node_id)
        return outcome

    async def _change(self, change: ConfChange, timeout: float) -> Outcome:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                index, term = await self._raft.ask(ProposeConfChange(change), remaining)
                break
            except ConfChangeInProgress as busy:
                await self._await_turn(busy, deadline)
            except ValueError as exc:
                return Rejected("invalid_field", str(exc), "node_id")
        await self._state_machine.ask(AwaitApplied(index, term), max(0.001, deadline - time.monotonic()))
        return Ok(None)

    async def _await_turn(self, busy: ConfChangeInProgress, deadline: float) -> None:
        """Wait until the change in progress is applied (or lost with its leader): then ours may go."""
        try:
            await self._state_machine.ask(
                AwaitApplied(busy.index, busy.term), max(0.001, deadline - time.monotonic())
            )
        except TimeoutError:
            raise TimeoutError("another membership change is still in progress") from None
        except LeadershipLost:
            pass  # replaced by a new leader's log: ask again (NotLeader then goes back to the bridge)

    # --- joining by ourselves (--join URL) -------------------------------------------------------------

    async def _join_at_start(self, url: str) -> None:
        query = urllib.parse.urlencode({"node_id": self.node_id, "addr": self.raft_addr})
        target = f"{url.rstrip('/')}/join?{query}"
        delay = JOIN_BACKOFF_MIN
        while True:
            status, detail = await asyncio.to_thread(_post, target)
            if status == 200:
                log.info("%s: joined the cluster through %s", self.name, url)
                return
            log.info(
                "%s: join through %s not yet done (%s); retrying in %.1fs", self.name, url, detail, delay
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, JOIN_BACKOFF_MAX)


def _post(url: str) -> tuple[int, str]:
    request = urllib.request.Request(url, data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read(200).decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, f"HTTP {error.code}: {error.read(200).decode(errors='replace')}"
    except OSError as error:
        return 0, str(error)
