"""Typed protocol messages between cores.

Every message is a frozen slotted dataclass whose first three fields are `sender, recipient, term` (the
runtime routes by `recipient`) and whose class attribute TAG is its stable integer identity on the wire
(raft/codec.py).
Never renumber a TAG: add new messages with new numbers.

The messages whose sender's vote or acknowledgement counts toward a quorum carry the sender's incarnation
(the random id of its data dir), so a node whose data dir was wiped is never counted as the member it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from raft.types import Entry, Membership


@dataclass(frozen=True, slots=True)
class RequestVote:
    """A (pre-)candidate asks for a vote (Raft §5.2, pre-vote: thesis §9.6).

    A pre-vote carries the term the sender would campaign at, without having moved to it; `transfer` marks
    an election started by TimeoutNow, which voters honour even while they hear from a leader (thesis §3.10).
    """

    TAG: ClassVar[int] = 1
    sender: str
    recipient: str
    term: int
    last_index: int
    last_term: int
    pre_vote: bool = False
    transfer: bool = False
    incarnation: str = ""  # the sender's data dir (raft/incarnation.py)


@dataclass(frozen=True, slots=True)
class RequestVoteResponse:
    TAG: ClassVar[int] = 2
    sender: str
    recipient: str
    term: int
    granted: bool
    pre_vote: bool = False
    incarnation: str = ""  # the sender's data dir (raft/incarnation.py)


@dataclass(frozen=True, slots=True)
class AppendEntries:
    """Entries after (prev_index, prev_term); entries[k].index == prev_index + 1 + k."""

    TAG: ClassVar[int] = 3
    sender: str
    recipient: str
    term: int
    prev_index: int
    prev_term: int
    entries: tuple[Entry, ...]
    commit: int


@dataclass(frozen=True, slots=True)
class AppendEntriesResponse:
    """Success: the follower's log matches the leader's up to `index`.

    Reject: the follower has no entry matching (index, the sender's prev_term); (hint_index, hint_term) is the
    follower's last entry at or below `index` whose term is <= that prev_term, so the leader can skip a whole
    conflicting term at once (fast back-off, as in etcd's findConflictByTerm).
    """

    TAG: ClassVar[int] = 4
    sender: str
    recipient: str
    term: int
    index: int
    reject: bool = False
    hint_index: int = 0
    hint_term: int = 0
    incarnation: str = ""  # the sender's data dir (raft/incarnation.py)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Leader liveness; `commit` is at most what the recipient is known to hold; `read_round` is the latest
    ReadIndex round the leader has started (the reply echoes it to confirm leadership for that round)."""

    TAG: ClassVar[int] = 5
    sender: str
    recipient: str
    term: int
    commit: int
    read_round: int = 0


@dataclass(frozen=True, slots=True)
class HeartbeatResponse:
    TAG: ClassVar[int] = 6
    sender: str
    recipient: str
    term: int
    read_round: int = 0
    incarnation: str = ""  # the sender's data dir (raft/incarnation.py)


@dataclass(frozen=True, slots=True)
class InstallSnapshot:
    """A chunk of the leader's snapshot at (index, snapshot_term); `data` holds bytes [offset, offset+len)."""

    TAG: ClassVar[int] = 7
    sender: str
    recipient: str
    term: int
    index: int
    snapshot_term: int
    membership: Membership
    offset: int
    data: bytes
    done: bool


@dataclass(frozen=True, slots=True)
class InstallSnapshotResponse:
    """Not done: the follower holds `offset` bytes of the snapshot at `index` and wants the next chunk.
    Done: the follower's log now matches the leader's up to `index` (restored, or already had it)."""

    TAG: ClassVar[int] = 8
    sender: str
    recipient: str
    term: int
    index: int
    offset: int
    done: bool
    incarnation: str = ""  # the sender's data dir (raft/incarnation.py)


@dataclass(frozen=True, slots=True)
class TimeoutNow:
    """The leader tells an up-to-date voter to campaign at once (leadership transfer, thesis §3.10)."""

    TAG: ClassVar[int] = 9
    sender: str
    recipient: str
    term: int


@dataclass(frozen=True, slots=True)
class ReadIndexRequest:
    """A follower asks the leader for a read index on behalf of its client (thesis §6.4)."""

    TAG: ClassVar[int] = 10
    sender: str
    recipient: str
    term: int
    ctx: bytes


@dataclass(frozen=True, slots=True)
class ReadIndexResponse:
    TAG: ClassVar[int] = 11
    sender: str
    recipient: str
    term: int
    index: int
    ctx: bytes


Message = (
    RequestVote
    | RequestVoteResponse
    | AppendEntries
    | AppendEntriesResponse
    | Heartbeat
    | HeartbeatResponse
    | InstallSnapshot
    | InstallSnapshotResponse
    | TimeoutNow
    | ReadIndexRequest
    | ReadIndexResponse
)

MESSAGE_TYPES: tuple[type, ...] = (
    RequestVote,
    RequestVoteResponse,
    AppendEntries,
    AppendEntriesResponse,
    Heartbeat,
    HeartbeatResponse,
    InstallSnapshot,
    InstallSnapshotResponse,
    TimeoutNow,
    ReadIndexRequest,
    ReadIndexResponse,
)

__all__ = [t.__name__ for t in MESSAGE_TYPES] + ["MESSAGE_TYPES", "Message"]
