"""Membership changes that must be refused, and what the core reports about a change in progress."""

from __future__ import annotations

import pytest

from raft.core import RaftNode, Role
from raft.errors import AddressConflict, ConfChangeInProgress, WouldLoseQuorum
from raft.live_quorum import unreachable_voters
from raft.membership import check_address
from raft.types import ConfChange, ConfChangeKind, Member, Membership
from tests.raft.sim import Cluster, SafetyViolation

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


# --- incarnations: a voter restarted on a wiped data dir never votes nor counts ---------------------


def wipe_a_voter_then_lose_the_leader(cluster: Cluster) -> None:
    """The issue's case: n3 down, 20 writes on n1 and n2, n2's data dir wiped and n2 restarted under its
    id, then n1 crashes and n3 comes back: only n2's vote could make n3, which lacks the writes, leader."""
    leader = cluster.elect("n1")
    cluster.crash("n3")
    for number in range(20):
        leader.propose(b"write-%d" % number)
    cluster.stabilize()
    assert leader.commit_index >= 21
    cluster.wipe("n2")  # and n1 crashes before it hears from the new n2: n2 knows no configuration
    cluster.crash("n1")
    cluster.restart("n3")
    cluster.run_ticks(60)


def test_a_wiped_voter_cannot_help_elect_a_leader_lacking_acknowledged_writes() -> None:
    cluster = Cluster(IDS)
    wipe_a_voter_then_lose_the_leader(cluster)
    n2 = cluster.raft("n2")
    assert n2.vote is None and n2.role is Role.FOLLOWER and n2.membership.members == ()
    assert cluster.leader() is None  # n3 cannot win: unavailable, but nothing acknowledged is lost
    cluster.restart("n1")
    cluster.run_ticks(30)
    assert n2.superseded and n2.vote is None  # it has heard from n1 now, and knows it
    leader = cluster.leader()
    assert leader is not None and leader.node_id == "n1"
    index = leader.raft.propose(b"after")
    cluster.stabilize()
    assert leader.raft.commit_index >= index  # n1 and n3 form the quorum, n2 never counts
    writes = [data for _, data in cluster.nodes["n3"].app.items]
    assert writes[:20] == [b"write-%d" % number for number in range(20)]


def test_with_the_rule_removed_the_checker_sees_acknowledged_writes_lost(monkeypatch) -> None:
    # Both guards off: the wiped node's own refusal to vote, and the candidate ignoring its grant.
    monkeypatch.setattr(RaftNode, "_may_vote", lambda node: True)
    monkeypatch.setattr(RaftNode, "_screen", lambda node, message: True)
    cluster = Cluster(IDS)
    with pytest.raises(SafetyViolation, match="a wiped node voted"):
        wipe_a_voter_then_lose_the_leader(cluster)
    cluster = Cluster(IDS)
    cluster.wipe = lambda node_id: (Cluster.wipe(cluster, node_id), cluster.wiped.clear())  # type: ignore[method-assign]
    with pytest.raises(SafetyViolation, match="leader completeness"):  # and what it would cost
        wipe_a_voter_then_lose_the_leader(cluster)


def test_removing_and_joining_a_wiped_voter_again_makes_it_a_voter_that_counts() -> None:
    cluster = Cluster(IDS)
    leader = cluster.elect("n1")
    leader.propose(b"before")
    cluster.stabilize()
    cluster.wipe("n3")
    cluster.run_ticks(3)
    assert cluster.raft("n3").superseded and leader.membership.get("n3").incarnation == "n3.0"
    leader.propose_conf_change(ConfChange(ConfChangeKind.REMOVE, "n3"))
    cluster.run_ticks(2)
    leader.propose_conf_change(ConfChange(ADD, "n3", "addr-n3"))
    cluster.run_ticks(5)
    member = leader.membership.get("n3")
    assert (
        member is not None and member.voter and member.incarnation == cluster.nodes["n3"].config.incarnation
    )
    assert not cluster.raft("n3").superseded and "n3" not in cluster.wiped
    cluster.crash("n2")  # n1 and the new n3 must now commit together
    index = leader.propose(b"after")
    cluster.stabilize()
    assert leader.commit_index >= index
