"""The line a wiped node logs: only when the configuration records another data dir for its id."""

from __future__ import annotations

from types import SimpleNamespace

from actors.superseded import superseded_warning
from raft.types import Member, Membership

OPTIONS = SimpleNamespace(node_id="n2", data_dir="/data/n2")


def test_a_member_recorded_with_another_incarnation_is_told_how_to_rejoin() -> None:
    membership = Membership((Member("n1", "a1", True, "i1"), Member("n2", "127.0.0.1:9002", True, "old")))
    warning = superseded_warning(OPTIONS, membership, "new")
    assert warning is not None
    assert "will not vote" in warning and "old" in warning and "/data/n2" in warning
    assert "DELETE /raft/members/n2" in warning and "POST /join?node_id=n2&addr=127.0.0.1:9002" in warning


def test_no_warning_for_our_own_incarnation_an_unrecorded_one_or_a_non_member() -> None:
    assert superseded_warning(OPTIONS, Membership((Member("n2", "a", True, "mine"),)), "mine") is None
    assert superseded_warning(OPTIONS, Membership((Member("n2", "a", False, ""),)), "mine") is None
    assert superseded_warning(OPTIONS, Membership((Member("n1", "a", True, "x"),)), "mine") is None
