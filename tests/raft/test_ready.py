"""The Ready contract and the public API, driven by hand on one or a few nodes."""

from __future__ import annotations

import random

import pytest

from raft.core import RaftConfig, RaftNode, Role, bootstrap_state
from raft.errors import ConfChangeInProgress, NotLeader, ProposalDropped
from raft.messages import AppendEntries, AppendEntriesResponse, RequestVote, RequestVoteResponse
from raft.types import ConfChange, ConfChangeKind, EntryKind, HardState, RecoveredState
from tests.raft.sim import Cluster, cluster_state, first_incarnation

IDS = ["n1", "n2", "n3"]


def single_node() -> RaftNode:
    return RaftNode(RaftConfig("solo"), bootstrap_state("solo", "127.0.0.1:9001"), random.Random(1))


def tick_until(node: RaftNode, role: Role, limit: int = 100) -> None:
    for _ in range(limit):
        if node.role is role:
            return
        node.tick()
    assert node.role is role


def test_bootstrap_state_is_a_single_voter_cluster() -> None:
    state = bootstrap_state("n1", "127.0.0.1:9001")
    assert state.hard_state == HardState(term=1, vote=None, commit=1)
    assert state.snapshot is not None and state.snapshot.index == 1 and state.snapshot.term == 1
    assert (
        state.snapshot.membership.voters == {"n1"}
        and state.snapshot.membership.get("n1").addr == "127.0.0.1:9001"
    )


def test_single_node_elects_itself_and_commits_only_after_its_own_persist() -> None:
    node = single_node()
    assert not node.has_ready()
    tick_until(node, Role.LEADER)
    assert node.term == 2 and node.leader_id == "solo"
    ready = node.ready()
    assert ready.hard_state == HardState(term=2, vote="solo", commit=1)
    assert [(e.index, e.term, e.kind, e.data) for e in ready.entries] == [(2, 2, EntryKind.NORMAL, b"")]
    assert ready.messages == [] and ready.persisted_messages == []
    index = node.propose(b"first")
    assert index == 3 and node.commit_index == 1  # nothing durable yet: nothing committed
    node.advance(ready)
    assert node.commit_index == 2  # the no-op is durable now; the proposal is not
    ready = node.ready()
    assert [e.index for e in ready.entries] == [3]
    assert [e.index for e in ready.committed_entries] == [2]
    assert ready.hard_state == HardState(term=2, vote="solo", commit=2)
    node.advance(ready)
    assert node.applied_index == 2 and node.commit_index == 3
    ready = node.ready()
    assert [e.data for e in ready.committed_entries] == [b"first"] and ready.entries == []
    node.advance(ready)
    assert node.applied_index == 3 and not node.has_ready()


def test_a_joining_node_never_campaigns() -> None:
    node = RaftNode(RaftConfig("new"), RecoveredState(), random.Random(1))
    for _ in range(100):
        node.tick()
    assert node.role is Role.FOLLOWER and node.term == 0 and not node.has_ready()


def test_vote_requests_and_grants_wait_for_persistence_pre_votes_do_not() -> None:
    state = cluster_state(IDS)
    candidate = RaftNode(RaftConfig("n1", incarnation=first_incarnation("n1")), state, random.Random(1))
    candidate.campaign()
    ready = candidate.ready()
    assert candidate.role is Role.PRE_CANDIDATE and ready.hard_state is None  # a pre-vote changes nothing
    assert {type(m) for m in ready.messages} == {RequestVote} and ready.persisted_messages == []
    assert all(m.pre_vote and m.term == 2 for m in ready.messages)
    candidate.advance(ready)
    voter = RaftNode(RaftConfig("n2", incarnation=first_incarnation("n2")), state, random.Random(2))
    voter.step(ready.messages[0])
    answer = voter.ready()
    assert [type(m) for m in answer.persisted_messages] == [RequestVoteResponse] and answer.messages == []
    candidate.step(answer.persisted_messages[0])  # a majority of pre-votes: now the real campaign
    ready = candidate.ready()
    assert candidate.role is Role.CANDIDATE and ready.hard_state == HardState(2, "n1", 1)
    assert ready.messages == [] and {type(m) for m in ready.persisted_messages} == {RequestVote}
    voter.step(ready.persisted_messages[0])
    grant = voter.ready()
    assert grant.hard_state == HardState(2, "n1", 1)  # the vote is persisted before the grant leaves
    assert grant.persisted_messages == [RequestVoteResponse("n2", "n1", 2, True, False, "n2.0")]


def test_leader_sends_entries_before_its_own_persist_and_acks_wait_for_the_followers() -> None:
    cluster = Cluster(IDS)
    leader = cluster.elect("n1")
    leader.propose(b"x")
    ready = leader.ready()
    sent = [m for m in ready.messages if isinstance(m, AppendEntries)]
    assert {m.recipient for m in sent} == {"n2", "n3"} and all(m.entries[-1].data == b"x" for m in sent)
    assert ready.entries[-1].data == b"x"
    follower = cluster.raft("n2")
    follower.step(sent[0])
    answer = follower.ready()
    assert answer.entries[-1].data == b"x" and answer.messages == []
    assert [type(m) for m in answer.persisted_messages] == [AppendEntriesResponse]


def test_appends_are_batched_by_count_and_pipelined_up_to_the_window() -> None:
    cluster = Cluster(IDS, max_append_entries=10, max_inflight=3)
    leader = cluster.elect("n1")
    for value in range(45):
        leader.propose(b"%d" % value)
    sent = [m for m in leader.ready().messages if isinstance(m, AppendEntries) and m.recipient == "n2"]
    assert [len(m.entries) for m in sent] == [10, 10, 10]  # the window is full; 15 entries wait for acks
    assert [m.prev_index for m in sent] == [sent[0].prev_index + 10 * k for k in range(3)]


def test_appends_are_batched_by_bytes_but_always_carry_one_entry() -> None:
    cluster = Cluster(IDS, max_append_bytes=100)
    leader = cluster.elect("n1")
    for _ in range(6):
        leader.propose(b"a" * 30)
    leader.propose(b"b" * 500)
    sent = [m for m in leader.ready().messages if isinstance(m, AppendEntries) and m.recipient == "n2"]
    assert [len(m.entries) for m in sent] == [3, 3, 1]


def test_a_probing_follower_gets_one_append_at_a_time() -> None:
    cluster = Cluster(IDS)
    leader = cluster.win_election("n1")  # followers start in probe state
    leader.propose(b"x")
    leader.propose(b"y")
    sent = [
        m
        for m in [*cluster.pending, *leader.ready().messages]
        if isinstance(m, AppendEntries) and m.recipient == "n2"
    ]
    assert len(sent) == 1 and [e.data for e in sent[0].entries] == [b""]  # just the no-op probe


def test_refusals() -> None:
    cluster = Cluster(IDS)
    leader = cluster.elect("n1")
    follower = cluster.raft("n2")
    with pytest.raises(NotLeader) as refused:
        follower.propose(b"x")
    assert refused.value.leader_id == "n1"
    with pytest.raises(NotLeader):
        follower.propose_conf_change(ConfChange(ConfChangeKind.REMOVE, "n3"))
    leader.propose_conf_change(ConfChange(ConfChangeKind.ADD_LEARNER, "n4", "addr-n4"))
    with pytest.raises(ConfChangeInProgress):
        leader.propose_conf_change(ConfChange(ConfChangeKind.REMOVE, "n3"))
    with pytest.raises(ValueError):
        Cluster(["n1"]).elect("n1").propose_conf_change(ConfChange(ConfChangeKind.REMOVE, "n1"))
    cluster.stabilize()
    leader.transfer_leadership("n2")
    with pytest.raises(ProposalDropped):
        leader.propose(b"x")
    with pytest.raises(ProposalDropped):
        leader.propose_conf_change(ConfChange(ConfChangeKind.REMOVE, "n3"))


def test_configuration_takes_effect_when_appended_and_reverts_when_truncated() -> None:
    cluster = Cluster(IDS)
    leader = cluster.elect("n1")
    cluster.cut("n1", "n3")
    leader.propose_conf_change(ConfChange(ConfChangeKind.ADD_LEARNER, "n9", "addr-n9"))
    assert leader.membership.learners == {"n9"}  # in force at once, long before it commits
    cluster.stabilize(hold=["n1"])  # n2 takes the change; n1 never persists it, so it cannot commit
    assert cluster.raft("n2").membership.learners == {"n9"} and leader.commit_index < leader.last_index
    cluster.crash("n1")
    cluster.restart("n1")
    cluster.heal()
    cluster.elect("n3")  # with n1's vote: neither holds the change
    cluster.run_ticks(3)
    for node_id in IDS:
        assert cluster.raft(node_id).membership.ids == set(IDS), node_id
