"""Strict reconfiguration: refuse a membership change whose new configuration has no live majority.

Judged by the leader from its recent contact with each voter (raft/progress.py: heard from within the
current or the previous check-quorum round). Once such a configuration is appended it is in force (thesis
§4.1): nothing can commit any more, not even a change that would undo it, until the missing voters return.
etcd refuses the same way (its server's strict reconfiguration check); hashicorp/raft leaves it to the
operator. Pure: no clocks, the caller says who is reachable.
"""

from __future__ import annotations

from collections.abc import Collection

from raft import quorum
from raft.errors import WouldLoseQuorum
from raft.membership import describe_change
from raft.types import ConfChange, Membership


def unreachable_voters(after: Membership, reachable: Collection[str]) -> tuple[str, ...]:
    """The voters of `after` the leader has not heard from recently, in configuration order, if without
    them `after` has no majority; () if a majority of its voters is reachable."""
    voters = after.voters
    if quorum.has_quorum(voters, reachable):
        return ()
    return tuple(m.node_id for m in after.members if m.voter and m.node_id not in reachable)


def check_live_majority(change: ConfChange, before: Membership, reachable: Collection[str]) -> None:
    """WouldLoseQuorum, naming the voters it cannot reach, if `change` leaves no live majority."""
    after = before.apply(change)
    missing = unreachable_voters(after, reachable)
    if not missing:
        return
    voters = sorted(after.voters)
    needed = quorum.majority(len(voters))
    names = ", ".join(missing)
    raise WouldLoseQuorum(
        f"refusing to {describe_change(change)}: the configuration after it ({', '.join(voters)}) needs "
        f"{needed} live voters, and the leader has not heard recently from {names}. Nothing could commit "
        f"afterwards, not even a change undoing it. Bring {names} back first, or remove an unreachable "
        "voter while the others are live",
        missing,
    )
