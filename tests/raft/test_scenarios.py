"""The paper's cases and the features around them, as readable scenarios on the simulator.

Each scenario runs with the safety checker on; several also run against a deliberately broken core to show
that the scenario would notice.
"""

from __future__ import annotations

import pytest

from raft import core, quorum
from raft.core import Role
from raft.errors import NotLeader, ProposalDropped
from raft.messages import AppendEntriesResponse, Heartbeat, InstallSnapshot
from raft.types import ConfChange, ConfChangeKind, Entry, HardState, Member, Membership, Snapshot
from tests.raft.sim import Cluster, Durable, SafetyViolation

IDS = ["n1", "n2", "n3"]


def terms_of(cluster: Cluster, node_id: str) -> list[int]:
    log = cluster.raft(node_id).log
    return [entry.term for entry in log.entries]


def settle(cluster: Cluster, ticks: int = 30) -> None:
    cluster.run_ticks(ticks)


# --- figure 7: divergent followers are repaired ---------------------------------------------------------

FIGURE_7 = {
    "leader": [1, 1, 1, 4, 4, 5, 5, 6, 6, 6],
    "a": [1, 1, 1, 4, 4, 5, 5, 6, 6],
    "b": [1, 1, 1, 4],
    "c": [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    "d": [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    "e": [1, 1, 1, 4, 4, 4, 4],
    "f": [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
}


def figure_7_cluster() -> Cluster:
    membership = Membership(tuple(Member(node_id, node_id, True) for node_id in FIGURE_7))
    config_only = Snapshot(0, 0, membership, b"")
    durables = {
        node_id: Durable(
            HardState(term=7, vote=None, commit=3),
            config_only,
            [
                Entry(term, index, data=b"%s-%d" % (node_id.encode(), index))
                for index, term in enumerate(terms, 1)
            ],
        )
        for node_id, terms in FIGURE_7.items()
    }
    # Entries with the same index and term must be identical: give the shared ones the same data.
    for durable in durables.values():
        durable.entries = [
            Entry(entry.term, entry.index, data=b"t%d-%d" % (entry.term, entry.index))
            for entry in durable.entries
        ]
    return Cluster(list(FIGURE_7), durables=durables)


def test_figure_7_leader_repairs_every_divergent_follower() -> None:
    cluster = figure_7_cluster()
    cluster.record = True
    leader = cluster.elect("leader")
    assert leader.term == 8
    settle(cluster, 5)
    expected = [*FIGURE_7["leader"], 8]  # the leader's log plus the no-op of its term
    for node_id in FIGURE_7:
        assert terms_of(cluster, node_id) == expected, node_id
        assert cluster.raft(node_id).commit_index == len(expected)
    # Fast back-off: f, eight entries out of line, is repaired after a single rejection.
    rejections = [
        m for m in cluster.trace if isinstance(m, AppendEntriesResponse) and m.reject and m.sender == "f"
    ]
    assert len(rejections) == 1


# --- figure 8: an old-term entry is never committed by counting replicas --------------------------------


def run_figure_8() -> tuple[Cluster, int]:
    cluster = Cluster(
        ["s1", "s2", "s3", "s4", "s5"], pre_vote=False, check_quorum=False, max_append_entries=1
    )
    others = ["s2", "s3", "s4", "s5"]
    # (a) s1 leads and its entry at index 2 reaches s2 only.
    s1 = cluster.win_election("s1")
    for node_id in ["s3", "s4", "s5"]:
        cluster.cut("s1", node_id)
    cluster.stabilize()
    old_term = s1.term
    assert cluster.raft("s2").log.term(2) == old_term and cluster.raft("s3").log.last_index() == 1
    # (b) s1 crashes; s5 leads a later term and appends its own entry at index 2, which goes nowhere.
    cluster.crash("s1")
    cluster.heal()
    s5 = cluster.win_election("s5")
    for node_id in others:
        cluster.cut("s5", node_id)
    cluster.stabilize()
    assert s5.log.term(2) == s5.term
    cluster.crash("s5")
    cluster.heal()
    # (c) s1 restarts and leads again; s3 receives the old entry 2, so it is on a majority (s1, s2, s3)...
    cluster.restart("s1")
    cluster.partition(["s1", "s2", "s3"], ["s4", "s5"])
    s1 = cluster.win_election("s1")
    assert cluster.run_until(lambda: s1.progress("s3").match >= 2)
    cluster.cut("s1", "s3")
    cluster.stabilize()
    holders = [node_id for node_id in ["s1", "s2", "s3"] if cluster.raft(node_id).log.term(2) == old_term]
    assert len(holders) == 3
    commit_with_old_entry_on_majority = s1.commit_index
    # (d) s1 crashes; s5 can still win (its last term is higher) and overwrites index 2 everywhere.
    cluster.crash("s1")
    cluster.heal()
    cluster.restart("s5")
    s5 = cluster.elect("s5")
    settle(cluster, 3)
    return cluster, commit_with_old_entry_on_majority


def test_figure_8_old_term_entry_is_not_committed_by_counting() -> None:
    cluster, commit_in_c = run_figure_8()
    assert commit_in_c == 1  # on a majority, but of an older term: not committed by counting (Raft §5.4.2)
    s5 = cluster.raft("s5")
    for node_id in ["s2", "s3", "s4", "s5"]:
        assert cluster.raft(node_id).log.term(2) == 3, node_id
        assert cluster.raft(node_id).commit_index == s5.last_index


def test_figure_8_would_lose_a_committed_entry_if_counting_committed_old_terms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def count_any_term(node: core.RaftNode) -> bool:
        log = node.log
        matches = [
            log.stable_index if voter == node.node_id else node._progress[voter].match
            for voter in node._configs.voters
        ]
        index = quorum.committed_index(matches)
        if index > log.committed:
            log.committed = index
            return True
        return False

    monkeypatch.setattr(core.RaftNode, "_maybe_commit", count_any_term)
    with pytest.raises(SafetyViolation):
        run_figure_8()


# --- the leader's own persist (thesis §10.2.1) ----------------------------------------------------------


def run_leader_crash_before_its_persist() -> tuple[Cluster, int, bool]:
    cluster = Cluster(IDS)
    leader = cluster.elect("n1")
    n1 = cluster.nodes["n1"]
    cluster.cut("n1", "n3")
    index = leader.propose(b"x")
    cluster.pump(n1)
    # The AppendEntries left before the leader's own write is durable.
    assert n1.in_flight is not None and index in [e.index for e in n1.in_flight.entries]
    assert any(getattr(m, "entries", ()) and m.recipient == "n2" for m in cluster.pending)
    cluster.stabilize(hold=["n1"])
    assert leader.progress("n2").match >= index
    committed_early = leader.commit_index >= index
    cluster.crash("n1")  # x was never durable on n1
    cluster.restart("n1")
    cluster.heal()
    cluster.elect("n3")  # with n1's vote: neither holds x
    settle(cluster, 3)
    return cluster, index, committed_early


def test_leader_counts_itself_only_after_its_own_persist() -> None:
    cluster, index, committed_early = run_leader_crash_before_its_persist()
    assert not committed_early  # n2's copy alone is no majority while the leader's write is in flight
    assert cluster.raft("n2").log.term(index) == cluster.raft("n3").term  # x was never committed: replaced


def test_counting_the_leaders_unpersisted_entry_would_lose_a_committed_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = core.RaftNode._maybe_commit

    def eager(node: core.RaftNode) -> bool:
        log = node.log
        durable, log.stable_index = log.stable_index, log.last_index()
        try:
            return original(node)
        finally:
            log.stable_index = durable

    monkeypatch.setattr(core.RaftNode, "_maybe_commit", eager)
    with pytest.raises(SafetyViolation, match="committed entry"):
        run_leader_crash_before_its_persist()


# --- pre-vote and check-quorum ---------------------------------------------------------------------------


def isolated_then_rejoined(**config: object) -> tuple[int, int, Cluster]:
    cluster = Cluster(IDS, **config)
    leader = cluster.elect("n1")
    term = leader.term
    cluster.isolate("n3")
    settle(cluster, 60)  # n3 times out again and again, alone
    cut_off_term = cluster.raft("n3").term
    cluster.heal()
    settle(cluster, 30)
    return term, cut_off_term, cluster


def test_prevote_keeps_a_rejoining_node_from_disrupting_the_leader() -> None:
    term, cut_off_term, cluster = isolated_then_rejoined()
    assert cut_off_term == term  # pre-votes failed, so n3 never moved to a new term
    assert cluster.raft("n1").role is Role.LEADER and cluster.raft("n1").term == term
    assert cluster.raft("n3").role is Role.FOLLOWER and cluster.raft("n3").leader_id == "n1"


def test_without_prevote_a_rejoining_node_disrupts_the_leader() -> None:
    term, cut_off_term, cluster = isolated_then_rejoined(pre_vote=False, check_quorum=False)
    assert cut_off_term > term
    assert cluster.leader() is not None and cluster.leader().raft.term > term


def test_check_quorum_makes_an_isolated_leader_step_down() -> None:
    cluster = Cluster(IDS)
    leader = cluster.elect("n1")
    cluster.isolate("n1")
    for _ in range(2 * leader.config.election_ticks):
        cluster.tick()
        cluster.stabilize()
    assert leader.role is Role.FOLLOWER
    assert cluster.leader() is not None and cluster.leader().node_id in {"n2", "n3"}
    with pytest.raises(NotLeader):
        leader.propose(b"lost")


def test_without_check_quorum_an_isolated_leader_keeps_leading() -> None:
    cluster = Cluster(IDS, check_quorum=False)
    leader = cluster.elect("n1")
    cluster.isolate("n1")
    settle(cluster, 4 * leader.config.election_ticks)
    assert leader.role is Role.LEADER


# --- leadership transfer --------------------------------------------------------------------------------


def test_leadership_transfer_to_an_up_to_date_follower() -> None:
    cluster = Cluster(IDS)
    leader = cluster.elect("n1")
    term = leader.term
    leader.transfer_leadership("n2")
    with pytest.raises(ProposalDropped):
        leader.propose(b"during transfer")
    cluster.stabilize()
    assert cluster.raft("n2").role is Role.LEADER and cluster.raft("n2").term == term + 1
    assert leader.role is Role.FOLLOWER and leader.leader_id == "n2"


def test_leadership_transfer_first_catches_up_a_lagging_follower() -> None:
    cluster = Cluster(IDS)
    leader = cluster.elect("n1")
    cluster.isolate("n3")
    for value in range(5):
        leader.propose(b"%d" % value)
    cluster.stabilize()
    leader.transfer_leadership("n3")
    cluster.stabilize()
    assert leader.role is Role.LEADER  # n3 cannot be told yet
    cluster.heal()
    settle(cluster, 3)
    n3 = cluster.raft("n3")
    assert n3.role is Role.LEADER and n3.commit_index >= 7


def test_leadership_transfer_is_abandoned_after_an_election_timeout() -> None:
    cluster = Cluster(IDS)
    leader = cluster.elect("n1")
    cluster.isolate("n3")
    leader.propose(b"x")
    cluster.stabilize()
    leader.transfer_leadership("n3")
    settle(cluster, leader.config.election_ticks + 1)
    assert leader.role is Role.LEADER
    assert leader.propose(b"accepted again") > 0


def test_leadership_transfer_refuses_non_voters_and_followers() -> None:
    cluster = Cluster(IDS)
    leader = cluster.elect("n1")
    with pytest.raises(ValueError):
        leader.transfer_leadership("nobody")
    with pytest.raises(NotLeader) as refused:
        cluster.raft("n2").transfer_leadership("n3")
    assert refused.value.leader_id == "n1"


# --- membership -----------------------------------------------------------------------------------------


def test_learner_catches_up_then_is_promoted_by_the_leader() -> None:
    cluster = Cluster(IDS)
    leader = cluster.elect("n1")
    for value in range(20):
        leader.propose(b"before-%d" % value)
    cluster.stabilize()
    cluster.add_node("n4")
    cluster.isolate("n4")
    leader.propose_conf_change(ConfChange(ConfChangeKind.ADD_LEARNER, "n4", "addr-n4"))
    settle(cluster, 15)
    assert leader.membership.learners == {"n4"}  # not caught up: stays a learner
    assert quorum.has_quorum(leader.membership.voters, {"n1", "n2"})
    cluster.heal()
    settle(cluster, 5)
    n4 = cluster.raft("n4")
    for node_id in ["n1", "n2", "n3", "n4"]:
        assert cluster.raft(node_id).membership.voters == {"n1", "n2", "n3", "n4"}, node_id
    assert n4.role is Role.FOLLOWER and n4.term == leader.term  # a learner never campaigned
    assert cluster.nodes["n4"].app.items == cluster.nodes["n1"].app.items
    assert len(cluster.nodes["n4"].app.items) == 20


def test_removing_the_leader_makes_it_step_down_once_committed() -> None:
    cluster = Cluster(IDS)
    leader = cluster.elect("n1")
    leader.propose_conf_change(ConfChange(ConfChangeKind.REMOVE, "n1"))
    cluster.stabilize()
    assert leader.role is Role.FOLLOWER and "n1" not in leader.membership.ids
    settle(cluster, 40)
    new_leader = cluster.leader()
    assert new_leader is not None and new_leader.node_id in {"n2", "n3"}
    assert leader.role is Role.FOLLOWER  # a removed node never campaigns
    index = new_leader.raft.propose(b"after removal")
    cluster.stabilize()
    assert cluster.raft("n2").commit_index >= index and cluster.raft("n3").commit_index >= index


def test_removing_a_follower_shrinks_the_quorum() -> None:
    cluster = Cluster(IDS)
    leader = cluster.elect("n1")
    leader.propose_conf_change(ConfChange(ConfChangeKind.REMOVE, "n3"))
    cluster.stabilize()
    cluster.crash("n3")
    cluster.isolate("n2")
    index = leader.propose(b"needs only n1 and n2")
    cluster.stabilize()
    assert leader.commit_index < index
    cluster.heal()
    settle(cluster, 3)
    assert leader.commit_index >= index and leader.membership.voters == {"n1", "n2"}


# --- snapshots ------------------------------------------------------------------------------------------


def test_lagging_follower_receives_the_snapshot_in_chunks() -> None:
    cluster = Cluster(IDS, snapshot_chunk_bytes=64)
    cluster.record = True
    leader = cluster.elect("n1")
    cluster.crash("n3")
    for value in range(40):
        leader.propose(b"value-%02d-padding-padding" % value)
    cluster.stabilize()
    cluster.compact("n1")
    cluster.compact("n2")
    cluster.restart("n3")
    settle(cluster, 5)
    chunks = [m for m in cluster.trace if isinstance(m, InstallSnapshot) and m.recipient == "n3"]
    assert len({chunk.offset for chunk in chunks}) > 10  # many distinct chunks
    assert cluster.raft("n3").log.snapshot_index == leader.log.snapshot_index
    assert cluster.nodes["n3"].app.items == cluster.nodes["n1"].app.items
    assert len(cluster.nodes["n3"].app.items) == 40
    index = leader.propose(b"after the snapshot")
    cluster.stabilize()
    assert cluster.raft("n3").commit_index >= index


@pytest.mark.parametrize("tail, sends_snapshot", [(60, False), (10, True)])
def test_a_leader_keeps_a_tail_of_entries_after_compacting(tail: int, sends_snapshot: bool) -> None:
    """A follower that lags by less than the tail catches up from the log; one further behind gets the
    snapshot, which covers up to the snapshot's index (beyond the compacted point)."""
    cluster = Cluster(IDS, compaction_tail=tail)
    cluster.record = True
    leader = cluster.elect("n1")
    cluster.crash("n3")
    start = leader.log.snapshot_index
    for value in range(40):
        leader.propose(b"value-%02d" % value)
    cluster.stabilize()
    cluster.compact("n1")
    cluster.compact("n2")
    snapshot_index = leader._last_snapshot.index
    assert leader.log.snapshot_index == max(start, snapshot_index - tail) < snapshot_index
    cluster.restart("n3")
    settle(cluster, 5)
    sent = [m for m in cluster.trace if isinstance(m, InstallSnapshot) and m.recipient == "n3"]
    assert bool(sent) is sends_snapshot
    assert all(m.index == snapshot_index for m in sent)
    assert cluster.nodes["n3"].app.items == cluster.nodes["n1"].app.items


def test_compaction_refuses_an_index_not_yet_applied() -> None:
    cluster = Cluster(IDS)
    leader = cluster.elect("n1")
    index = leader.propose(b"x")
    with pytest.raises(ValueError):
        leader.snapshot_for(index, b"")


# --- ReadIndex ------------------------------------------------------------------------------------------


def test_read_index_is_refused_by_a_deposed_leader() -> None:
    cluster = Cluster(IDS, check_quorum=False)  # so the old leader does not step down by itself
    old = cluster.elect("n1")
    cluster.isolate("n1")
    new = cluster.elect("n2")
    written = new.propose(b"written by the new leader")
    cluster.stabilize()
    assert old.role is Role.LEADER  # it has not noticed
    cluster.read_index("n1", b"stale")
    cluster.read_index("n2", b"fresh")
    settle(cluster, 10)
    assert ("n1", b"stale") not in cluster.read_results
    assert cluster.read_results[("n2", b"fresh")] >= written
    cluster.heal()
    settle(cluster, 10)
    assert old.role is Role.FOLLOWER
    assert ("n1", b"stale") not in cluster.read_results  # dropped with its leadership; the caller times out


def test_read_index_batches_concurrent_reads_into_rounds() -> None:
    cluster = Cluster(IDS)
    cluster.record = True
    leader = cluster.elect("n1")
    for number in range(10):
        cluster.read_index("n1", b"read-%d" % number)
    cluster.stabilize()
    assert all(("n1", b"read-%d" % number) in cluster.read_results for number in range(10))
    rounds = {m.read_round for m in cluster.trace if isinstance(m, Heartbeat) and m.read_round}
    assert rounds == {1, 2}  # the first read opened a round; the other nine shared the next
    assert set(cluster.read_results.values()) == {leader.commit_index}


def test_follower_read_index_asks_the_leader() -> None:
    cluster = Cluster(IDS)
    leader = cluster.elect("n1")
    index = leader.propose(b"x")
    cluster.stabilize()
    cluster.read_index("n3", b"via-leader")
    cluster.stabilize()
    assert cluster.read_results[("n3", b"via-leader")] >= index


def test_read_index_without_a_known_leader_raises() -> None:
    cluster = Cluster(IDS)
    with pytest.raises(NotLeader) as refused:
        cluster.raft("n2").read_index(b"x")
    assert refused.value.leader_id is None


def test_new_leader_answers_reads_only_after_committing_in_its_term() -> None:
    cluster = Cluster(IDS)
    leader = cluster.win_election("n1")
    cluster.read_index("n1", b"early")
    assert leader.log.term(leader.commit_index) != leader.term
    assert ("n1", b"early") not in cluster.read_results
    cluster.stabilize()
    assert cluster.read_results[("n1", b"early")] == leader.commit_index


# --- crashes --------------------------------------------------------------------------------------------


def test_a_restarted_node_recovers_from_durable_state_only() -> None:
    cluster = Cluster(IDS)
    leader = cluster.elect("n1")
    for value in range(5):
        leader.propose(b"%d" % value)
    cluster.stabilize()
    cluster.crash("n2")
    cluster.restart("n2")
    n2 = cluster.raft("n2")
    assert n2.last_index == leader.last_index and n2.term == leader.term
    settle(cluster, 3)
    assert cluster.nodes["n2"].app.items == cluster.nodes["n1"].app.items


def test_the_compaction_tail_is_bounded_by_bytes_too() -> None:
    """5,000 entries of 64 KiB would keep ~320 MiB in memory after every snapshot: the tail also stops at
    `compaction_tail_bytes`, newest entries kept first."""
    cluster = Cluster(IDS, compaction_tail=60, compaction_tail_bytes=1000)
    leader = cluster.elect("n1")
    for value in range(40):
        leader.propose(b"%0100d" % value)  # 100 bytes each
    cluster.stabilize()
    cluster.compact("n1")
    snapshot_index = leader._last_snapshot.index
    assert leader.log.snapshot_index == snapshot_index - 10
    kept = leader.log.slice(leader.log.snapshot_index + 1, snapshot_index + 1)
    assert sum(len(entry.data) for entry in kept) == 1000
