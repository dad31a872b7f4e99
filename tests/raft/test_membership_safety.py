"""Membership changes that must be refused, and what the core reports about a change in progress."""

from __future__ import annotations

import pytest

from raft.errors import AddressConflict, ConfChangeInProgress
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
