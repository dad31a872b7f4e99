"""ReadyPipeline: the rules for carrying out pipelined Readies, as plain work items. Pure: no I/O, no clock.

RaftNode.ready() may be called again before earlier Readies are advanced (see its docstring). The rules that
make that safe live here, once, for the node's runtime (actors/consensus.py) and the simulator alike:
  - every Ready gets a number; their writes are persisted in that order (a FIFO disk queue, as group commit
    is) and reported durable in that order (`persisted(number)`), and the core is advanced in that order;
  - messages may leave at once; persisted_messages (append acks, votes) only once the Ready is durable;
  - MustSync (etcd's rule): a hard state whose term and vote are unchanged and that comes without entries
    changes only the commit index, which need not be durable (recovery clamps it to the log and the leader
    teaches it again), so it waits to ride along with the next write instead of costing an fsync;
  - committed entries are applied as soon as they are handed out (committed means durable on a majority), and
    read states are released after the entries handed out with them, so a read waits for the apply;
  - a Ready holding a snapshot from the leader is carried out alone: it starts once every earlier Ready is
    advanced, and no other Ready is taken until it is advanced; the state machine restores from it once it
    is durable, before its committed entries apply;
  - a compaction asked for by the state machine waits until its index is applied and advanced (so its log
    is durable) and no snapshot is being carried out.

The runtime calls take() whenever it may have work, and persisted(number) when a Persist it was handed is
durable; both return the work items to carry out now, in order.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from raft.core import RaftNode
from raft.messages import Message
from raft.ready import ReadState, Ready
from raft.types import Entry, HardState, Snapshot


class PipelineOrderError(RuntimeError):
    """The runtime reported a write durable out of the order it was handed out in."""


# --- work items ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    """Send these messages now."""

    messages: list[Message]


@dataclass(frozen=True, slots=True)
class Persist:
    """Write these (snapshot first, then the hard state and entries, truncating from entries[0].index) after
    every earlier Persist, and report it with persisted(number) once durable."""

    number: int
    hard_state: HardState | None
    entries: list[Entry]
    snapshot: Snapshot | None = None


@dataclass(frozen=True, slots=True)
class Restore:
    """Replace the state machine with this (durable) snapshot."""

    snapshot: Snapshot


@dataclass(frozen=True, slots=True)
class Apply:
    """Apply these committed entries, after every earlier Apply."""

    entries: list[Entry]


@dataclass(frozen=True, slots=True)
class ReleaseReads:
    """Serve each read once the state machine has applied its index (everything up to it was handed out)."""

    read_states: list[ReadState]


@dataclass(frozen=True, slots=True)
class Compacted:
    """The core forgot its log up to this snapshot (a runtime that keeps its own copy of the log may too)."""

    snapshot: Snapshot


Work = Send | Persist | Restore | Apply | ReleaseReads | Compacted


@dataclass(slots=True)
class _Slot:
    number: int
    ready: Ready
    durable: bool  # its write (if any) is durable
    started: bool = True  # a snapshot Ready waits, unstarted, for the ones before it


@dataclass(slots=True)
class _Deferred:
    compactions: list[Snapshot] = field(default_factory=list)
    hard_state: HardState | None = None  # a commit-index-only change not written yet


class ReadyPipeline:
    def __init__(self, node: RaftNode, max_in_flight: int = 1024) -> None:
        self.node = node
        self.max_in_flight = max_in_flight  # past it the core gathers fewer, larger Readies
        self._slots: deque[_Slot] = deque()  # handed out, not advanced, oldest first
        self._next_number = 1
        self._written_term_vote = (node.term, node.vote)  # as recovered: durable
        self._deferred = _Deferred()
        # invariant: a snapshot Ready, if any in flight, is the last slot, and nothing is taken after it
        self._carrying: _Slot | None = None

    # --- what the runtime asks ----------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Readies handed out and not advanced yet."""
        return len(self._slots)

    @property
    def idle(self) -> bool:
        return not self._slots

    @property
    def carrying_snapshot(self) -> bool:
        """A Ready holding a snapshot is in flight: the state machine is about to be replaced."""
        return self._carrying is not None

    def can_take(self) -> bool:
        return self._carrying is None and len(self._slots) < self.max_in_flight and self.node.has_ready()

    def take(self) -> list[Work]:
        """The next Ready's work, if the core has one and the rules allow taking it now; else []."""
        work: list[Work] = []
        if self._carrying is None:
            self._compact(work)
        if not self.can_take():
            return work
        ready = self.node.ready()
        number, self._next_number = self._next_number, self._next_number + 1
        if ready.snapshot is not None:
            slot = _Slot(number, ready, durable=False, started=False)
            self._slots.append(slot)
            self._carrying = slot
            if len(self._slots) == 1:
                self._start_snapshot(slot, work)
            return work
        if ready.messages:
            work.append(Send(ready.messages))
        hard_state = self._hard_state_to_write(ready)
        slot = _Slot(number, ready, durable=hard_state is None and not ready.entries)
        self._slots.append(slot)
        if not slot.durable:
            work.append(Persist(number, hard_state, ready.entries))
        if ready.committed_entries:
            work.append(Apply(ready.committed_entries))
        if ready.read_states:
            work.append(ReleaseReads(ready.read_states))
        self._advance_durable(work)
        return work

    def persisted(self, number: int) -> list[Work]:
        """Persist `number` is durable (and so every earlier one): what may happen now."""
        pending = next((slot for slot in self._slots if not slot.durable), None)
        if pending is None or pending.number != number or not pending.started:
            expected = None if pending is None else pending.number
            raise PipelineOrderError(f"write {number} reported durable, the oldest pending is {expected}")
        pending.durable = True
        work: list[Work] = []
        self._advance_durable(work)
        return work

    def compact(self, snapshot: Snapshot) -> list[Work]:
        """The state machine saved `snapshot`; the core forgets its log up to it once that is safe."""
        self._deferred.compactions.append(snapshot)
        work: list[Work] = []
        if self._carrying is None:
            self._compact(work)
        return work

    def unwritten_hard_state(self) -> HardState | None:
        """A commit-index-only hard state not written yet (worth writing on a clean stop)."""
        hard_state, self._deferred.hard_state = self._deferred.hard_state, None
        return hard_state

    # --- the rules ------------------------------------------------------------------------------------

    def _hard_state_to_write(self, ready: Ready) -> HardState | None:
        hard_state = ready.hard_state or self._deferred.hard_state
        if hard_state is None:
            return None
        if not ready.entries and (hard_state.term, hard_state.vote) == self._written_term_vote:
            self._deferred.hard_state = hard_state  # MustSync false: rides along with the next write
            return None
        self._deferred.hard_state = None
        self._written_term_vote = (hard_state.term, hard_state.vote)
        return hard_state

    def _start_snapshot(self, slot: _Slot, work: list[Work]) -> None:
        ready = slot.ready
        slot.started = True
        if ready.messages:
            work.append(Send(ready.messages))
        hard_state = ready.hard_state or self._deferred.hard_state
        self._deferred.hard_state = None
        if hard_state is not None:
            self._written_term_vote = (hard_state.term, hard_state.vote)
        work.append(Persist(slot.number, hard_state, ready.entries, ready.snapshot))

    def _advance_durable(self, work: list[Work]) -> None:
        """Advance, in order, every Ready at the front whose write is durable."""
        slots = self._slots
        node = self.node
        while slots and slots[0].durable:
            slot = slots.popleft()
            ready = slot.ready
            if ready.snapshot is not None:
                work.append(Restore(ready.snapshot))
                if ready.persisted_messages:
                    work.append(Send(ready.persisted_messages))
                if ready.committed_entries:
                    work.append(Apply(ready.committed_entries))
                if ready.read_states:
                    work.append(ReleaseReads(ready.read_states))
                self._carrying = None
            elif ready.persisted_messages:
                work.append(Send(ready.persisted_messages))
            node.advance(ready)
        if slots and not slots[0].started:
            self._start_snapshot(slots[0], work)
        elif self._carrying is None:
            self._compact(work)

    def _compact(self, work: list[Work]) -> None:
        pending = self._deferred.compactions
        if not pending:
            return
        node = self.node
        waiting: list[Snapshot] = []
        for snapshot in sorted(pending, key=lambda s: s.index):
            if snapshot.index <= node.log.snapshot_index:
                continue  # a newer snapshot (e.g. one the leader sent) already covers it
            if snapshot.index > node.applied_index:
                waiting.append(snapshot)  # its entries are not all advanced (durable) yet
                continue
            node.compact(snapshot)
            work.append(Compacted(snapshot))
        self._deferred.compactions = waiting
