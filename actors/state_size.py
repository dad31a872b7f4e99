"""The replicated state's size in bytes, cheaply: its last snapshot's size plus the entries applied since.

Exact at every snapshot and an upper bound in between (an entry never adds more than itself and its
remembered outcome). The state machine takes a snapshot early, which measures the state exactly again, when
the bound crosses the quota or has drifted past the last measure (twice it, and at least DRIFT_BYTES): a
create/delete loop never looks much bigger than it is, and the early snapshots cost O(state) for at least
as many bytes applied.
"""

from __future__ import annotations

# an applied entry counts twice: its command, and the outcome its idempotency record may keep
ENTRY_WEIGHT = 2
# entries between two snapshots taken because of the quota (each costs a full encode of the state)
QUOTA_SNAPSHOT_SPACING = 256
# how far the estimate may drift past the last measure before a snapshot measures it again
DRIFT_BYTES = 64 * 1024 * 1024
# seconds between two snapshots a refused write asks for
MEASURE_SPACING = 5.0


class StateSize:
    __slots__ = ("last_measure", "quota", "since_snapshot", "snapshot_bytes")

    def __init__(self, quota: int | None = None) -> None:
        self.quota = quota
        self.snapshot_bytes = 0
        self.since_snapshot = 0
        self.last_measure = float("-inf")

    @property
    def value(self) -> int:
        return self.snapshot_bytes + self.since_snapshot

    def measured(self, snapshot_bytes: int) -> None:
        """A snapshot of the whole state was taken or restored: its size is the state's."""
        self.snapshot_bytes = snapshot_bytes
        self.since_snapshot = 0

    def applied(self, entry_bytes: int) -> None:
        self.since_snapshot += ENTRY_WEIGHT * entry_bytes

    def wants_snapshot(self, entries_since_snapshot: int) -> bool:
        """Over the quota by the estimate, or drifted far from the last measure: a snapshot would tell."""
        if self.since_snapshot == 0 or entries_since_snapshot < QUOTA_SNAPSHOT_SPACING:
            return False
        over_quota = self.quota is not None and self.value > self.quota
        return over_quota or self.since_snapshot > max(self.snapshot_bytes, DRIFT_BYTES)

    def may_measure(self, now: float) -> bool:
        """May a refused write have the state measured now (something applied since, not too often)?"""
        if self.since_snapshot == 0 or now - self.last_measure < MEASURE_SPACING:
            return False
        self.last_measure = now
        return True
