"""The one error type of the consensus core and the ways a call into it can be refused."""

from __future__ import annotations


class RaftError(Exception):
    """Base of every error the consensus core raises to its caller."""


class NotLeader(RaftError):
    """The call needs the leader; `leader_id` is who this node believes leads (None if nobody known)."""

    def __init__(self, leader_id: str | None) -> None:
        super().__init__(f"not the leader (leader: {leader_id or 'unknown'})")
        self.leader_id = leader_id


class ProposalDropped(RaftError):
    """The leader refuses new entries while it hands leadership over (thesis §3.10)."""


class ConfChangeInProgress(RaftError):
    """A configuration change is appended but not yet committed: one change at a time (thesis §4.1).
    `index` and `term`: the entry of the change in progress (0 if unknown), for a caller that waits for it."""

    def __init__(self, message: str, index: int = 0, term: int = 0) -> None:
        super().__init__(message)
        self.index = index
        self.term = term
