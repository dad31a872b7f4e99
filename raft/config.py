"""RaftConfig: the tunables of one RaftNode (see raft_api.md); checked once, at construction."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RaftConfig:
    node_id: str
    election_ticks: int = (
        10  # followers time out after a random number of ticks in [election_ticks, 2*election_ticks)
    )
    heartbeat_ticks: int = 2
    max_append_entries: int = 1024  # entries per AppendEntries
    max_append_bytes: int = 1 << 20  # bytes of entry data per AppendEntries
    max_inflight: int = 64  # AppendEntries in flight per follower in replicate state
    snapshot_chunk_bytes: int = 256 * 1024
    pre_vote: bool = True
    check_quorum: bool = True
    # Entries kept before a snapshot's index when compacting (etcd keeps 5,000): a follower that lagged
    # briefly catches up from the log instead of needing the whole snapshot.
    compaction_tail: int = 0
    # ... and at most this many bytes of entry data (newest first): 5,000 entries of 64 KiB would keep
    # ~320 MiB in memory after every snapshot; a follower further behind gets the snapshot instead.
    compaction_tail_bytes: int = 32 * 1024 * 1024
    incarnation: str = ""  # this node's data dir (raft/incarnation.py); "" = not known (older data dirs)

    def __post_init__(self) -> None:
        if not self.node_id:
            raise ValueError("node_id must not be empty")
        if self.heartbeat_ticks < 1 or self.election_ticks <= self.heartbeat_ticks:
            raise ValueError("need 1 <= heartbeat_ticks < election_ticks")
        if (
            min(self.max_append_entries, self.max_append_bytes, self.max_inflight, self.snapshot_chunk_bytes)
            < 1
        ):
            raise ValueError("batch, window and chunk limits must be positive")
        if self.compaction_tail < 0 or self.compaction_tail_bytes < 0:
            raise ValueError("the compaction tail's bounds must not be negative")
