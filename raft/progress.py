"""What the leader knows about each follower's log, and how hard it may push entries at it (etcd tracker).

PROBE: the follower's match is unknown; send one AppendEntries per heartbeat interval until one is accepted.
REPLICATE: the follower keeps up; send optimistically, up to `max_inflight` unacknowledged AppendEntries.
SNAPSHOT: the follower needs entries we compacted; send InstallSnapshot chunks one at a time, nothing else.
"""

from __future__ import annotations

import enum
from collections import deque

from raft.types import Snapshot


class ProgressState(enum.Enum):
    PROBE = 0
    REPLICATE = 1
    SNAPSHOT = 2


class Inflights:
    """Last indices of the AppendEntries sent and not yet acknowledged, oldest first, at most `capacity`."""

    __slots__ = ("_last_indices", "capacity")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._last_indices: deque[int] = deque()

    def __len__(self) -> int:
        return len(self._last_indices)

    def full(self) -> bool:
        return len(self._last_indices) >= self.capacity

    def add(self, last_index: int) -> None:
        self._last_indices.append(last_index)

    def free_to(self, index: int) -> None:
        """Acknowledged up to `index`: every message ending at or before it has arrived."""
        pending = self._last_indices
        while pending and pending[0] <= index:
            pending.popleft()

    def free_first(self) -> None:
        if self._last_indices:
            self._last_indices.popleft()

    def reset(self) -> None:
        self._last_indices.clear()


class Progress:
    __slots__ = (
        "active_before",
        "incarnation",
        "inflights",
        "match",
        "next",
        "probe_sent",
        "read_ack",
        "recent_active",
        "snapshot",
        "snapshot_offset",
        "state",
    )

    def __init__(self, next_index: int, max_inflight: int) -> None:
        # invariant: match < next
        self.match = 0
        self.next = next_index
        self.state = ProgressState.PROBE
        self.probe_sent = False  # PROBE only: an AppendEntries is out, wait for its answer or a heartbeat
        self.inflights = Inflights(max_inflight)  # REPLICATE only
        self.snapshot: Snapshot | None = None  # SNAPSHOT only: what is being sent
        self.snapshot_offset = 0  # SNAPSHOT only: bytes the follower has confirmed
        self.recent_active = False  # heard from since the last check-quorum round
        self.active_before = False  # heard from during the check-quorum round before that
        self.read_ack = 0  # highest ReadIndex round this follower confirmed
        self.incarnation = ""  # the data dir its answers come from, as it last said ("" = not heard yet)

    def __repr__(self) -> str:
        return (
            f"Progress({self.state.name} match={self.match} next={self.next} inflight={len(self.inflights)})"
        )

    def recently_heard(self) -> bool:
        """Heard from within the last one or two election timeouts (strict reconfiguration)."""
        return self.recent_active or self.active_before

    def is_paused(self) -> bool:
        if self.state is ProgressState.REPLICATE:
            return self.inflights.full()
        if self.state is ProgressState.PROBE:
            return self.probe_sent
        return True

    def become_probe(self) -> None:
        if self.state is ProgressState.SNAPSHOT and self.snapshot is not None:
            self.next = max(self.match, self.snapshot.index) + 1
        else:
            self.next = self.match + 1
        self._enter(ProgressState.PROBE)

    def become_replicate(self) -> None:
        self.next = self.match + 1
        self._enter(ProgressState.REPLICATE)

    def become_snapshot(self, snapshot: Snapshot) -> None:
        self._enter(ProgressState.SNAPSHOT)
        self.snapshot = snapshot

    def _enter(self, state: ProgressState) -> None:
        self.state = state
        self.probe_sent = False
        self.inflights.reset()
        self.snapshot = None
        self.snapshot_offset = 0

    def sent_entries(self, last_index: int) -> None:
        """An AppendEntries ending at `last_index` (prev_index if empty) went out."""
        if self.state is ProgressState.REPLICATE:
            if last_index >= self.next:
                self.next = last_index + 1
                self.inflights.add(last_index)
        else:
            self.probe_sent = True

    def maybe_update(self, index: int) -> bool:
        """The follower holds our log up to `index`; False if that is old news."""
        self.probe_sent = False
        if index > self.match:
            self.match = index
            if self.next <= index:
                self.next = index + 1
            return True
        return False

    def maybe_decrease_to(self, rejected: int, match_hint: int) -> bool:
        """The follower rejected an AppendEntries whose prev_index was `rejected`; False if that is stale."""
        if self.state is ProgressState.REPLICATE:
            if rejected <= self.match:
                return False
            self.next = self.match + 1  # the caller moves us back to PROBE
            return True
        if self.next - 1 != rejected:
            return False
        self.next = max(min(rejected, match_hint + 1), self.match + 1)
        self.probe_sent = False
        return True
