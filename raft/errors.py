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


class ConfChangeRefused(RaftError, ValueError):
    """A membership change that must not be made; `code` says why in one word (the HTTP layer's problem
    code). A ValueError too, as the core's other refusals of a malformed change are."""

    code = "invalid_change"


class AddressConflict(ConfChangeRefused):
    """A join would re-point a member to a new address, or give a new node a member's address: whoever
    listens there would receive every entry and its acks would count (thesis §4.1 assumes addresses are
    the members' own)."""

    code = "address_conflict"


class WouldLoseQuorum(ConfChangeRefused):
    """The configuration after the change would lack a majority of voters the leader hears from: nothing
    could commit afterwards, not even the change that undoes it. `unreachable` names the voters it misses."""

    code = "would_lose_quorum"

    def __init__(self, message: str, unreachable: tuple[str, ...]) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class ConfChangeInProgress(RaftError):
    """A configuration change is appended but not yet committed: one change at a time (thesis §4.1).
    `index` and `term`: the entry of the change in progress (0 if unknown), for a caller that waits for it."""

    def __init__(self, message: str, index: int = 0, term: int = 0) -> None:
        super().__init__(message)
        self.index = index
        self.term = term
