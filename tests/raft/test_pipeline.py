"""ReadyPipeline: the pipelined Ready rules, driven by hand on a follower and a single-node leader."""

from __future__ import annotations

import random

import pytest

from raft.core import RaftConfig, RaftNode, Role, bootstrap_state
from raft.messages import AppendEntries, AppendEntriesResponse, InstallSnapshot
from raft.pipeline import (
    Apply,
    Compacted,
    Persist,
    PipelineOrderError,
    ReadyPipeline,
    ReleaseReads,
    Restore,
    Send,
    Work,
)
from raft.types import Entry, HardState
from tests.raft.sim import cluster_state

IDS = ["n1", "n2", "n3"]


def follower() -> tuple[RaftNode, ReadyPipeline]:
    node = RaftNode(RaftConfig("n2"), cluster_state(IDS), random.Random(1))
    return node, ReadyPipeline(node)


def append(term: int, prev: int, prev_term: int, entries: list[Entry], commit: int) -> AppendEntries:
    return AppendEntries("n1", "n2", term, prev, prev_term, tuple(entries), commit)


def kinds(work: list[Work]) -> list[str]:
    return [type(item).__name__ for item in work]


def only(work: list[Work], kind: type) -> list:
    return [item for item in work if isinstance(item, kind)]


def test_acks_leave_only_once_their_write_is_durable_and_writes_complete_in_order() -> None:
    node, pipeline = follower()
    node.step(append(2, 1, 1, [Entry(2, 2, data=b"a")], 1))
    first = pipeline.take()
    assert kinds(first) == ["Persist"]  # the ack waits for the write
    (write1,) = only(first, Persist)
    assert write1.hard_state == HardState(2, None, 1) and [e.index for e in write1.entries] == [2]
    node.step(append(2, 2, 2, [Entry(2, 3, data=b"b")], 1))
    second = pipeline.take()  # taken while the first is still being written
    (write2,) = only(second, Persist)
    assert write2.number == write1.number + 1 and write2.hard_state is None  # term and vote unchanged
    assert pipeline.in_flight == 2
    with pytest.raises(PipelineOrderError):
        pipeline.persisted(write2.number)
    done = pipeline.persisted(write1.number)
    (ack,) = only(done, Send)[0].messages
    assert isinstance(ack, AppendEntriesResponse) and ack.index == 2
    assert node.log.stable_index == 2  # advanced: the core knows entry 2 is durable
    done = pipeline.persisted(write2.number)
    assert only(done, Send)[0].messages[0].index == 3 and pipeline.idle
    with pytest.raises(PipelineOrderError):
        pipeline.persisted(write2.number)  # twice


def test_a_commit_only_hard_state_is_not_written_on_its_own_but_rides_along_with_the_next_write() -> None:
    node, pipeline = follower()
    node.step(append(2, 1, 1, [Entry(2, 2, data=b"a")], 1))
    (write,) = only(pipeline.take(), Persist)
    pipeline.persisted(write.number)
    node.step(append(2, 2, 2, [], 2))  # only the commit index moves
    work = pipeline.take()
    assert not only(work, Persist)  # MustSync false: no fsync of its own
    assert [e.index for item in only(work, Apply) for e in item.entries] == [2]
    assert pipeline.idle  # nothing to wait for: advanced at once
    assert pipeline.unwritten_hard_state() == HardState(2, None, 2)
    assert pipeline.unwritten_hard_state() is None  # handed out once
    node.step(append(2, 2, 2, [], 2))
    node.step(append(2, 2, 2, [Entry(2, 3, data=b"b")], 3))
    (write,) = only(pipeline.take(), Persist)
    assert write.hard_state is not None and write.hard_state.commit == 3


def test_the_deferred_commit_index_is_written_with_the_next_entries() -> None:
    node, pipeline = follower()
    node.step(append(2, 1, 1, [Entry(2, 2, data=b"a")], 1))
    pipeline.persisted(only(pipeline.take(), Persist)[0].number)
    node.step(append(2, 2, 2, [], 2))
    assert not only(pipeline.take(), Persist)
    node.step(append(2, 2, 2, [Entry(2, 3, data=b"b")], 2))  # entries, commit unchanged
    (write,) = only(pipeline.take(), Persist)
    assert write.hard_state == HardState(2, None, 2)  # the deferred commit rides along


def test_a_new_term_is_written_even_without_entries() -> None:
    node, pipeline = follower()
    node.step(append(3, 1, 1, [], 1))
    (write,) = only(pipeline.take(), Persist)
    assert write.hard_state == HardState(3, None, 1) and write.entries == []


def test_committed_entries_apply_when_handed_out_and_reads_are_released_after_them() -> None:
    node = RaftNode(RaftConfig("solo"), bootstrap_state("solo", "127.0.0.1:1"), random.Random(1))
    pipeline = ReadyPipeline(node)
    while node.role is not Role.LEADER:
        node.tick()
    pipeline.persisted(only(pipeline.take(), Persist)[0].number)  # the leader's no-op
    index = node.propose(b"x")
    (write,) = only(pipeline.take(), Persist)
    pipeline.persisted(write.number)  # durable: commits
    node.read_index(b"r1")
    work = pipeline.take()
    assert kinds(work)[-2:] == ["Apply", "ReleaseReads"]
    assert only(work, Apply)[0].entries[-1].index == index
    (read,) = only(work, ReleaseReads)[0].read_states
    assert read.ctx == b"r1" and read.index == index


def test_a_snapshot_ready_waits_for_earlier_ones_and_is_carried_out_alone() -> None:
    node, pipeline = follower()
    node.step(append(2, 1, 1, [Entry(2, 2, data=b"a")], 1))
    (write,) = only(pipeline.take(), Persist)
    membership = cluster_state(IDS).snapshot.membership
    node.step(InstallSnapshot("n1", "n2", 2, 10, 2, membership, 0, b"state", True))
    assert pipeline.take() == []  # the snapshot Ready is taken, and waits for the write before it
    assert pipeline.carrying_snapshot
    started = pipeline.persisted(write.number)
    assert kinds(started) == ["Send", "Persist"]  # the first one's ack; then the snapshot's write
    snapshot_write = started[-1]
    assert snapshot_write.snapshot is not None and snapshot_write.snapshot.index == 10
    node.step(append(2, 10, 2, [Entry(2, 11, data=b"b")], 10))
    assert node.has_ready() and pipeline.take() == []  # nothing is taken while it is carried out
    done = pipeline.persisted(snapshot_write.number)
    assert kinds(done)[0] == "Restore" and only(done, Restore)[0].snapshot.index == 10
    assert not pipeline.carrying_snapshot and node.applied_index == 10
    assert only(pipeline.take(), Persist)[0].entries[0].index == 11


def test_compaction_waits_until_its_index_is_advanced() -> None:
    node, pipeline = follower()
    node.step(append(2, 1, 1, [Entry(2, 2, data=b"a"), Entry(2, 3, data=b"b")], 3))
    work = pipeline.take()
    (write,) = only(work, Persist)
    assert only(work, Apply)  # applied before durable (committed on a majority)
    snapshot = node.snapshot_for(3, b"state")
    assert pipeline.compact(snapshot) == []  # its log is not durable here yet
    assert node.log.snapshot_index == 1
    done = pipeline.persisted(write.number)
    assert only(done, Compacted) == [Compacted(snapshot)] and node.log.snapshot_index == 3
    assert pipeline.compact(snapshot) == []  # already covered


def test_no_more_readies_than_the_window_are_in_flight() -> None:
    node = RaftNode(RaftConfig("n2"), cluster_state(IDS), random.Random(1))
    pipeline = ReadyPipeline(node, max_in_flight=1)
    node.step(append(2, 1, 1, [Entry(2, 2, data=b"a")], 1))
    (write,) = only(pipeline.take(), Persist)
    node.step(append(2, 2, 2, [Entry(2, 3, data=b"b")], 1))
    assert not pipeline.can_take() and pipeline.take() == []  # the core gathers meanwhile
    pipeline.persisted(write.number)
    (write,) = only(pipeline.take(), Persist)
    assert [e.index for e in write.entries] == [3]
