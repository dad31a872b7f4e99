"""StateMachineActor: the farm as this node has applied it; answers writes, reads and event streams.

Committed entries arrive in log order from the RaftActor. A write waits on (index, term): whatever entry is
applied at that index answers it, and if that entry has another term the proposal was lost with its leader
(the bridge retries with the same idempotency key, so it still applies once). Reads wait until the applied
index reaches their read index. Every `snapshot_every` applied entries the farm is snapshotted (in a
forked child: actors/snapshot_fork.py), saved and the log compacted.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from actors import farm_restore, snapshot_fork
from actors.base import Actor, reject, resolve
from actors.event_fanout import EventFanout
from actors.state_size import StateSize
from farm.queries import Query
from farm.results import Ok, Outcome
from farm.state import FarmState
from raft.codec import CodecError, decode_conf_change
from raft.types import Entry, EntryKind, Membership, Snapshot

log = logging.getLogger(__name__)

RECENT_RESULTS = 4096  # outcomes kept for a write waiter that arrives just after its entry applied
# ... and at most about this many bytes of them: an outcome can hold a whole 64 KiB object, and 4,096 of them
# held ~120 MiB in a create/delete loop. An outcome is weighed by its entry's bytes (what it can have brought
# into the process that the live state no longer holds) plus RECENT_OVERHEAD for the objects themselves.
RECENT_RESULTS_BYTES = 8 * 1024 * 1024
RECENT_OVERHEAD = 256


class LeadershipLost(Exception):
    """The proposal's entry was replaced by another leader's: its outcome is unknown, retry it."""


# --- messages --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Apply:
    entries: tuple[Entry, ...]
    # Writes proposed since the previous Apply, each waiting for its entry's outcome: registered before
    # the entries apply. The RaftActor gathers them here so that a write costs no message of its own.
    waiters: tuple[AwaitApplied, ...] = ()


@dataclass(frozen=True, slots=True)
class Restore:
    snapshot: Snapshot


@dataclass(frozen=True, slots=True)
class AwaitApplied:
    """Answer with the outcome of the entry (index, term) once applied; LeadershipLost if replaced.
    `reply`: the future to answer instead of the asker's (the RaftActor passes on a proposer's)."""

    index: int
    term: int
    reply: asyncio.Future[Any] | None = None


@dataclass(frozen=True, slots=True)
class QueryAt:
    """Answer `query` once the applied index is at least `index` (0: at once)."""

    query: Query
    index: int


@dataclass(frozen=True, slots=True)
class LeadershipMoved:
    """This node stopped leading: its pending writes may never apply here; their askers retry elsewhere."""


@dataclass(frozen=True, slots=True)
class SnapshotTaken:
    snapshot: Snapshot


SaveSnapshot = Callable[[Snapshot], Awaitable[None]]


class StateMachineActor(Actor):
    def __init__(
        self,
        node_id: str,
        snapshot: Snapshot | None,
        *,
        save_snapshot: SaveSnapshot,
        compact: Callable[[Snapshot], Awaitable[None]],
        snapshot_every: int = 10_000,
        supervisor: Any = None,
        mailbox_size: int = 8192,
        max_state_bytes: int | None = None,
        events: EventFanout | None = None,
        fork_snapshots: bool = True,
    ) -> None:
        super().__init__(f"{node_id}.state_machine", mailbox_size=mailbox_size, supervisor=supervisor)
        self.farm = FarmState()
        self.applied_index = 0
        self.applied_term = 0
        self.membership = Membership()
        self.snapshot_index = 0
        self._save_snapshot = save_snapshot
        self._compact = compact
        self._snapshot_every = snapshot_every
        self._snapshotting = False
        self._fork_snapshots = fork_snapshots
        self.last_snapshot_build_seconds = 0.0
        # index -> (term, outcome, weight); invariant: _recent_bytes is the summed weight
        self._recent: OrderedDict[int, tuple[int, Outcome, int]] = OrderedDict()
        self._recent_bytes = 0
        self._writes: dict[int, list[tuple[int, asyncio.Future[Any]]]] = {}
        self._reads: list[tuple[int, int, Query, asyncio.Future[Any]]] = []
        self._read_seq = itertools.count()
        self.events = events or EventFanout()
        self.applied_listeners: list[Callable[[int], None]] = []
        self.state_size = StateSize(max_state_bytes)
        if snapshot is not None:
            self._restore(snapshot)

    async def handle(self, message: Any) -> Any:
        match message:
            case Apply(entries, waiters):
                for waiter in waiters:
                    self._await_applied(waiter.index, waiter.term, waiter.reply)
                self._apply(entries)
            case AwaitApplied(index, term, reply):
                return self._await_applied(index, term, reply or self.current_reply)
            case QueryAt(query, index):
                return self._query_at(query, index, self.current_reply)
            case Restore(snapshot):
                await self._install(snapshot)
            case LeadershipMoved():
                self._fail_writes(LeadershipLost("this node stopped leading before the entry applied"))
            case SnapshotTaken(snapshot):
                self._snapshotting = False
                self.snapshot_index = max(self.snapshot_index, snapshot.index)
            case _:
                raise TypeError(f"{self.name}: unexpected message {message!r}")
        return None

    async def on_stop(self) -> None:
        self.close_streams()

    def close_streams(self) -> None:
        """End every event stream (the node is stopping)."""
        self.events.close_all()

    # --- applying ------------------------------------------------------------------------------------

    def _apply(self, entries: tuple[Entry, ...]) -> None:
        for entry in entries:
            if entry.index <= self.applied_index:
                continue  # already in the snapshot we restored
            if entry.index != self.applied_index + 1:
                raise RuntimeError(
                    f"gap in committed entries: applied {self.applied_index}, got {entry.index}"
                )
            outcome = self._apply_one(entry)
            self.state_size.applied(len(entry.data))
            self.applied_index = entry.index
            self.applied_term = entry.term
            self._remember(entry.index, entry.term, outcome, len(entry.data))
            for term, future in self._writes.pop(entry.index, ()):
                if term == entry.term:
                    resolve(future, outcome)
                else:
                    reject(future, LeadershipLost(f"entry {entry.index} was replaced by a new leader"))
        self.events.flush()
        self._serve_reads()
        for listener in self.applied_listeners:
            listener(self.applied_index)
        self._maybe_snapshot()

    def _apply_one(self, entry: Entry) -> Outcome:
        if entry.kind is EntryKind.CONF_CHANGE:
            try:
                self.membership = self.membership.apply(decode_conf_change(entry.data))
            except CodecError:
                log.error("%s: undecodable configuration change at index %d", self.name, entry.index)
            return Ok(None)
        if not entry.data:
            return Ok(None)  # a new leader's no-op
        applied = self.farm.apply(entry.index, entry.data)
        for event in applied.events:
            self.events.publish(event)
        return applied.outcome

    def _remember(self, index: int, term: int, outcome: Outcome, entry_bytes: int) -> None:
        weight = entry_bytes + RECENT_OVERHEAD
        recent = self._recent
        recent[index] = (term, outcome, weight)
        self._recent_bytes += weight
        # the newest is always kept, even alone over the budget: its waiter is the likeliest to come
        while len(recent) > 1 and (len(recent) > RECENT_RESULTS or self._recent_bytes > RECENT_RESULTS_BYTES):
            self._recent_bytes -= recent.popitem(last=False)[1][2]

    async def _install(self, snapshot: Snapshot) -> None:
        """A snapshot the leader sent: decoded off the loop (further messages wait in the mailbox)."""
        if snapshot.index <= self.applied_index and self.applied_index:
            return
        farm = await farm_restore.restore_off_loop(snapshot.data)
        old, self.farm = self.farm, farm
        self._restore(snapshot, farm)
        self.spawn(farm_restore.release(old), "release-replaced-farm")
        del old

    def _restore(self, snapshot: Snapshot, farm: FarmState | None = None) -> None:
        if snapshot.index <= self.applied_index and self.applied_index:
            return
        self.farm = farm if farm is not None else farm_restore.restore_here(snapshot.data)
        self.state_size.measured(len(snapshot.data))
        self.applied_index = snapshot.index
        self.applied_term = snapshot.term
        self.membership = snapshot.membership
        self.snapshot_index = snapshot.index
        # The bootstrap snapshot holds no farm at all: no change, hence no event, came before it.
        self.events.restored(snapshot.index if snapshot.data else 0)
        self._recent.clear()
        self._recent_bytes = 0
        log.info("%s: restored the farm from a snapshot at index %d", self.name, snapshot.index)
        self._fail_writes(
            LeadershipLost(f"a snapshot at {snapshot.index} replaced the entries: outcome unknown"),
            up_to=snapshot.index,
        )
        self._serve_reads()
        for listener in self.applied_listeners:
            listener(self.applied_index)

    # --- waiting for writes and reads --------------------------------------------------------------------

    def _await_applied(self, index: int, term: int, reply: asyncio.Future[Any] | None) -> Any:
        """Answers `reply` itself (now or once applied) and returns it; None if nobody waits."""
        if reply is None:
            return None
        if index <= self.applied_index:
            recent = self._recent.get(index)
            if recent is None:
                unknown = f"entry {index} applied before anyone waited for it: outcome unknown"
                reject(reply, LeadershipLost(unknown))
            elif recent[0] != term:
                reject(reply, LeadershipLost(f"entry {index} was replaced by a new leader"))
            else:
                resolve(reply, recent[1])
            return reply
        self._writes.setdefault(index, []).append((term, reply))
        return reply

    def _fail_writes(self, error: LeadershipLost, up_to: int | None = None) -> None:
        """Safe because every write carries an idempotency key: a retry applies it at most once."""
        for index in [index for index in self._writes if up_to is None or index <= up_to]:
            for _term, future in self._writes.pop(index):
                reject(future, error)

    def _query_at(self, query: Query, index: int, reply: asyncio.Future[Any] | None) -> Any:
        if index <= self.applied_index or reply is None:
            return self.farm.query(query)
        heapq.heappush(self._reads, (index, next(self._read_seq), query, reply))
        return reply  # answered by _serve_reads

    def _serve_reads(self) -> None:
        while self._reads and self._reads[0][0] <= self.applied_index:
            _index, _seq, query, future = heapq.heappop(self._reads)
            if not future.done():
                future.set_result(self.farm.query(query))

    # --- snapshots ---------------------------------------------------------------------------------------

    def _maybe_snapshot(self) -> None:
        since = self.applied_index - self.snapshot_index
        if self._snapshotting or (since < self._snapshot_every and not self.state_size.wants_snapshot(since)):
            return
        self._take_snapshot()

    def measure_state(self) -> None:
        """The leader refused a write over the quota: snapshot now (which measures the state exactly, so
        deletes since then count), unless one is under way or was taken for this moments ago."""
        if not self._snapshotting and self.state_size.may_measure(time.monotonic()):
            self._take_snapshot()

    def _take_snapshot(self) -> None:
        self._snapshotting = True
        index, term, membership = self.applied_index, self.applied_term, self.membership
        if self._fork_snapshots and snapshot_fork.can_fork():
            # Forked now, at this applied index: the child encodes while we go on applying.
            build = snapshot_fork.start(self.farm.snapshot)
            self.spawn(self._persist_built(index, term, membership, build), f"snapshot-{index}")
        else:
            snapshot = Snapshot(index, term, membership, self.farm.snapshot())
            self.spawn(self._persist_snapshot(snapshot), f"snapshot-{index}")

    async def _persist_built(
        self, index: int, term: int, membership: Membership, build: snapshot_fork.ForkedBuild
    ) -> None:
        started = time.perf_counter()
        data = await build.result()  # a failed child crashes the node, as a failed disk does
        self.last_snapshot_build_seconds = time.perf_counter() - started
        await self._persist_snapshot(Snapshot(index, term, membership, data))

    async def _persist_snapshot(self, snapshot: Snapshot) -> None:
        self.state_size.measured(len(snapshot.data))
        await self._save_snapshot(snapshot)  # a disk failure here crashes the node, on purpose
        await self._compact(snapshot)
        log.info(
            "%s: snapshot at index %d saved, log compacted (%d bytes, built in %.3f s off the loop)",
            self.name,
            snapshot.index,
            len(snapshot.data),
            self.last_snapshot_build_seconds,
        )
        await self.deliver(SnapshotTaken(snapshot))

