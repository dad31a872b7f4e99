"""Leader-side ReadIndex bookkeeping (thesis §6.4): requests wait, then share a confirmation round.

At most one round is in flight; requests arriving meanwhile wait and all share the next round, so a burst of
reads costs one heartbeat round trip, not one each. A round's read index is the commit index when it starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ReadRequest = tuple["str | None", bytes]  # (follower that asked, or None for the leader's own caller; ctx)


@dataclass(slots=True)
class ReadRound:
    round_id: int
    index: int
    requests: list[ReadRequest] = field(default_factory=list)


class ReadIndexQueue:
    __slots__ = ("in_flight", "last_round_id", "waiting")

    def __init__(self) -> None:
        self.waiting: list[ReadRequest] = []
        self.in_flight: ReadRound | None = None
        # invariant: round ids only grow in this node's life: an ack for round r confirms every round <= r
        self.last_round_id = 0

    def add(self, origin: str | None, ctx: bytes) -> None:
        self.waiting.append((origin, ctx))

    def start(self, index: int) -> ReadRound | None:
        """Open a round for everything waiting, unless one is in flight or nothing waits."""
        if self.in_flight is not None or not self.waiting:
            return None
        self.last_round_id += 1
        self.in_flight = ReadRound(self.last_round_id, index, self.waiting)
        self.waiting = []
        return self.in_flight

    def finish(self) -> ReadRound:
        finished = self.in_flight
        assert finished is not None
        self.in_flight = None
        return finished

    def clear(self) -> None:
        """Leadership lost: every pending read is dropped; the callers time out."""
        self.waiting = []
        self.in_flight = None
