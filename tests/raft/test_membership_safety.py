"""Membership changes that must be refused, and what the core reports about a change in progress."""

from __future__ import annotations

import pytest

from raft.core import Role
from raft.errors import AddressConflict, ConfChangeInProgress, WouldLoseQuorum
from raft.live_quorum import unreachable_voters
from raft.membership import check_address
from raft.types import ConfChange, ConfChangeKind, Member, Membership
from tests.raft.sim import Cluster

IDS = ["n1", "n2", "n3"]
ADD = ConfChangeKind.ADD_LEARNER


def test_a_join_that_would_repoint_a_member_or_reuse_its_address_is_an_address_conflict() -> None:
    cluster = Cluster(IDS)
    leader = cluster.elect("n1")
    before = leader.membership
    with pytest.raises(AddressConflict, match="n2 is already a member at addr-n2"):
        leader.propose_conf_change(ConfChange(ADD, "n2", "rogue:1"))
    with pytest.raises(AddressConflict, match="addr-n3 is already the address of member n3"):
        leader.propose_conf_change(ConfChange(ADD, "n4", "addr-n3"))
    assert leader.membership == before and leader.pending_conf_change() is None
    # The same address again is no conflict (a retried join).
    check_address(before, "n2", "addr-n2")


def test_address_conflicts_are_judged_against_the_pending_configuration_too() -> None:
    pending = Membership((Member("n1", "a1", True), Member("n4", "a4", False)))
    with pytest.raises(AddressConflict):
        check_address(pending, "n5", "a4")
    with pytest.raises(AddressConflict):
        check_address(pending, "n4", "elsewhere")


def test_a_change_not_yet_committed_is_reported_pending_until_it_commits() -> None:
    cluster = Cluster(IDS)
    leader = cluster.elect("n1")
    assert leader.pending_conf_change() is None
    cluster.isolate("n1")
    index = leader.propose_conf_change(ConfChange(ConfChangeKind.REMOVE, "n3"))
    cluster.stabilize()
    assert leader.pending_conf_change() == (index, leader.term, ConfChange(ConfChangeKind.REMOVE, "n3"))
    assert "n3" in leader.committed_membership.ids and "n3" not in leader.membership.ids
    with pytest.raises(ConfChangeInProgress):
        leader.propose_conf_change(ConfChange(ADD, "n4", "addr-n4"))
    cluster.heal()
    cluster.run_ticks(3)
    assert leader.pending_conf_change() is None and leader.commit_index >= index
    assert "n3" not in leader.committed_membership.ids


# --- strict reconfiguration: no change that leaves no live majority ----------------------------------


def test_removing_a_live_voter_while_another_is_down_is_refused_naming_the_unreachable_one() -> None:
    cluster = Cluster(IDS)
    leader = cluster.elect("n1")
    cluster.crash("n3")
    cluster.run_ticks(2 * leader.config.election_ticks + 1)  # n3 silent for two check-quorum rounds
    assert leader.role is Role.LEADER
    before = leader.membership
    with pytest.raises(WouldLoseQuorum) as refused:
        leader.propose_conf_change(ConfChange(ConfChangeKind.REMOVE, "n2"))
    assert refused.value.unreachable == ("n3",) and "n3" in str(refused.value)
    assert leader.membership == before and leader.pending_conf_change() is None
    # The way back: remove the dead voter instead, while the others are live.
    index = leader.propose_conf_change(ConfChange(ConfChangeKind.REMOVE, "n3"))
    cluster.stabilize()
    assert leader.commit_index >= index and leader.membership.voters == {"n1", "n2"}


def test_a_voter_heard_from_in_the_previous_round_still_counts_as_live() -> None:
    cluster = Cluster(IDS)
    leader = cluster.elect("n1")
    cluster.run_ticks(leader.config.election_ticks)  # a check-quorum round just ended: activity reset
    cluster.crash("n3")
    leader.propose_conf_change(ConfChange(ConfChangeKind.REMOVE, "n2"))  # n3 was live a moment ago


def test_an_isolated_leader_refuses_even_a_join() -> None:
    cluster = Cluster(IDS, check_quorum=False)  # so it keeps leading while cut off
    leader = cluster.elect("n1")
    cluster.isolate("n1")
    cluster.run_ticks(2 * leader.config.election_ticks + 1)
    with pytest.raises(WouldLoseQuorum) as refused:
        leader.propose_conf_change(ConfChange(ADD, "n4", "addr-n4"))
    assert refused.value.unreachable == ("n2", "n3")
    assert leader.pending_conf_change() is None


def test_unreachable_voters_are_named_only_when_a_majority_is_missing() -> None:
    five = Membership(tuple(Member(f"n{k}", f"a{k}", True) for k in range(1, 6)))
    assert unreachable_voters(five, {"n1", "n2", "n3"}) == ()
    assert unreachable_voters(five, {"n1", "n2"}) == ("n3", "n4", "n5")
