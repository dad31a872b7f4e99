"""MembershipActor: joins and removals (on the leader), and joining a cluster by ourselves at start.

A join adds the node as a learner (ConfChange ADD_LEARNER) and answers once that entry is applied; the
core promotes the learner to voter when it has caught up. Only one change can be in flight, so a join that
meets another change in progress waits its turn until the request deadline. The core refuses a join that
would re-point a member or reuse a member's address (address_conflict) and a change that would leave no live
majority (would_lose_quorum); a change that does not commit in time is answered change_pending.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from raft.errors import AddressConflict, ConfChangeInProgress, ConfChangeRefused
from raft.membership import check_address, describe_change
from raft.types import ConfChange, ConfChangeKind, Membership

log = logging.getLogger(__name__)

CONF_CHANGE_RETRY = 0.05
ANSWER_MARGIN = 0.25  # answer this long before the asker's own timeout, so it hears why
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
        join_token: str | None = None,
        supervisor: Any = None,
    ) -> None:
        super().__init__(f"{node_id}.membership", mailbox_size=1024, supervisor=supervisor)
        self.node_id = node_id
        self.raft_addr = raft_addr
        self._raft = raft
        self._state_machine = state_machine
        self._join_url = join_url
        self._join_token = join_token  # an admin's, for a cluster with access control on: never logged
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
        deadline = _answer_by(timeout)
        node = self._raft.node
        try:
            check_address(node.membership, node_id, addr)  # at once, even while another change is pending
        except AddressConflict as exc:
            return Rejected(exc.code, f"{exc}.")
        existing = node.membership.get(node_id)
        if existing is not None:
            # Already in the latest configuration at this address: done once that configuration commits.
            outcome = await self._settle_pending(deadline)
        else:
            outcome = await self._change(ConfChange(ConfChangeKind.ADD_LEARNER, node_id, addr), deadline)
        if isinstance(outcome, Rejected):
            return outcome
        if existing is None:
            log.info("%s: %s joined at %s", self.name, node_id, addr)
        return Ok({"node_id": node_id, "addr": addr, "status": "joined"})

    async def _remove(self, node_id: str, timeout: float) -> Outcome:
        deadline = _answer_by(timeout)
        node = self._raft.node
        if node.membership.get(node_id) is None:
            if node.committed_membership.get(node_id) is not None:
                return await self._settle_pending(deadline)  # its removal is appended, not yet committed
            return Rejected("not_found", f"{node_id} is not a member of this cluster.")
        outcome = await self._change(ConfChange(ConfChangeKind.REMOVE, node_id), deadline)
        if isinstance(outcome, Ok):
            log.info("%s: %s removed", self.name, node_id)
        return outcome

    async def _change(self, change: ConfChange, deadline: float) -> Outcome:
        while True:
            remaining = deadline - time.monotonic()
            try:
                index, term = await self._raft.ask(ProposeConfChange(change), max(remaining, 0.001))
                break
            except ConfChangeInProgress as busy:
                if remaining <= CONF_CHANGE_RETRY:
                    return self._pending_answer()
                try:
                    await self._await_turn(busy, deadline)
                except TimeoutError:
                    return self._pending_answer()
            except ConfChangeRefused as exc:
                return Rejected(exc.code, f"{exc}.")
            except ValueError as exc:
                return Rejected("invalid_field", str(exc), "node_id")
        return await self._await_commit(index, term, deadline)

    async def _await_turn(self, busy: ConfChangeInProgress, deadline: float) -> None:
        """Wait until the change in progress is applied (or lost with its leader): then ours may go.
        Without an entry to wait for (a leader just elected, still hearing from its voters), pause."""
        if busy.index == 0:
            await asyncio.sleep(CONF_CHANGE_RETRY)
            return
        with contextlib.suppress(TimeoutError, LeadershipLost):  # the caller's loop decides what next
            await self._state_machine.ask(
                AwaitApplied(busy.index, busy.term), max(0.001, deadline - time.monotonic())
            )

    async def _settle_pending(self, deadline: float) -> Outcome:
        pending = self._raft.node.pending_conf_change()
        if pending is None:
            return Ok(None)
        index, term, _change = pending
        return await self._await_commit(index, term, deadline)

    async def _await_commit(self, index: int, term: int, deadline: float) -> Outcome:
        """Ok once the configuration entry (index, term) is applied here; change_pending (503) if that
        does not happen in time: the entry stays in the log and takes effect if it commits later
        (/raft/status shows it).

        A leader that removes itself steps down in the very step that commits the change, and its waits
        fail with LeadershipLost before the entry is applied: the core's log, where the entry is
        committed, says the removal worked."""
        try:
            await self._state_machine.ask(AwaitApplied(index, term), max(0.001, deadline - time.monotonic()))
        except TimeoutError:
            return self._pending_answer()
        except LeadershipLost:
            node = self._raft.node
            if node.commit_index >= index and node.log.term(index) == term:
                return Ok(None)
            raise
        return Ok(None)

    def _pending_answer(self) -> Rejected:
        pending = self._raft.node.pending_conf_change()
        if pending is None:
            return Rejected(
                "change_pending",
                "The membership change could not be made within the request timeout (no quorum, or "
                "another change in the way); retry once the cluster is healthy.",
            )
        index, _term, change = pending
        return Rejected(
            "change_pending",
            f"The membership change ({describe_change(change)}) is in the log at index {index} but a "
            "majority has not acknowledged it within the request timeout. It stays pending and takes "
            "effect only if it commits later; GET /raft/status shows it as pending_change.",
        )

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
            status, detail = await asyncio.to_thread(_post, target, self._join_token)
            if status == 200:
                log.info("%s: joined the cluster through %s", self.name, url)
                return
            log.info(
                "%s: join through %s not yet done (%s); retrying in %.1fs", self.name, url, detail, delay
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, JOIN_BACKOFF_MAX)


def _answer_by(timeout: float) -> float:
    return time.monotonic() + max(timeout - min(ANSWER_MARGIN, timeout / 10), 0.0)


def _post(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, data=b"", method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read(200).decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, f"HTTP {error.code}: {error.read(200).decode(errors='replace')}"
    except OSError as error:
        return 0, str(error)
