"""Majority math for votes, commit and liveness checks over a set of voters (Raft §5.2, §5.3)."""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping


class VoteResult(enum.Enum):
    PENDING = 0
    WON = 1
    LOST = 2


def majority(voter_count: int) -> int:
    return voter_count // 2 + 1


def committed_index(matches: Iterable[int]) -> int:
    """The largest index that a majority of the voters whose match indices are given have reached.

    With no voters nothing can be committed: 0.
    """
    ordered = sorted(matches, reverse=True)
    if not ordered:
        return 0
    return ordered[majority(len(ordered)) - 1]


def vote_result(voters: Collection[str], votes: Mapping[str, bool]) -> VoteResult:
    """WON once a majority granted, LOST once a majority can no longer grant, else PENDING."""
    granted = rejected = 0
    for voter in voters:
        vote = votes.get(voter)
        if vote is True:
            granted += 1
        elif vote is False:
            rejected += 1
    needed = majority(len(voters))
    if granted >= needed:
        return VoteResult.WON
    if len(voters) - rejected < needed:
        return VoteResult.LOST
    return VoteResult.PENDING


def has_quorum(voters: Collection[str], present: Collection[str]) -> bool:
    """True if the voters found in `present` form a majority (an empty voter set never has one)."""
    if not voters:
        return False
    return sum(1 for voter in voters if voter in present) >= majority(len(voters))
