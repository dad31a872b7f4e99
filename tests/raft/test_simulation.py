"""Thousands of seeded random schedules: safety after every message, liveness once faults stop.

PRINTFARM_SIM_SCHEDULES raises the count (default 2000); PRINTFARM_SIM_SEED=<seed> replays one schedule
(with PRINTFARM_SIM_PIPELINED=1 and/or PRINTFARM_SIM_WIPES=1 as its failure message says).
"""

from __future__ import annotations

import hashlib
import os

import pytest

from raft import core, pipeline
from raft import log as raft_log
from tests.raft.schedules import Schedule

SCHEDULES = int(os.environ.get("PRINTFARM_SIM_SCHEDULES", "2000"))
PIPELINED_SCHEDULES = int(os.environ.get("PRINTFARM_SIM_PIPELINED_SCHEDULES", "1000"))
ONE_SEED = os.environ.get("PRINTFARM_SIM_SEED")
ONE_PIPELINED = os.environ.get("PRINTFARM_SIM_PIPELINED") == "1"
ONE_WIPES = os.environ.get("PRINTFARM_SIM_WIPES") == "1"
WIPE_SCHEDULES = int(os.environ.get("PRINTFARM_SIM_WIPE_SCHEDULES", "600"))
BATCHES = 4


def run_seed(seed: int, pipelined: bool = False, wipes: bool = False) -> None:
    """Run one schedule; a failure names its seed and how to replay it."""
    try:
        Schedule(seed, pipelined=pipelined, wipes=wipes).run()
    except Exception as exc:
        replay = f"PRINTFARM_SIM_SEED={seed}" + (" PRINTFARM_SIM_PIPELINED=1" if pipelined else "")
        replay += " PRINTFARM_SIM_WIPES=1" if wipes else ""
        raise AssertionError(
            f"schedule seed={seed}{' (pipelined)' if pipelined else ''} failed: {exc}\n"
            f"reproduce with: {replay} pytest tests/raft/test_simulation.py"
        ) from exc


@pytest.mark.parametrize("batch", range(BATCHES))
def test_random_schedules_are_safe_and_live(batch: int) -> None:
    if ONE_SEED is not None:
        if batch or ONE_PIPELINED or ONE_WIPES:
            pytest.skip("replaying one seed")
        run_seed(int(ONE_SEED))
        return
    for seed in range(batch, SCHEDULES, BATCHES):
        run_seed(seed)


@pytest.mark.parametrize("batch", range(BATCHES // 2))
def test_random_pipelined_schedules_are_safe_and_live(batch: int) -> None:
    """Several Readies in flight per node, committed entries applied before their Ready is durable."""
    if ONE_SEED is not None:
        if batch or not ONE_PIPELINED or ONE_WIPES:
            pytest.skip("replaying one seed")
        run_seed(int(ONE_SEED), pipelined=True)
        return
    for seed in range(batch, PIPELINED_SCHEDULES, BATCHES // 2):
        run_seed(seed, pipelined=True)


@pytest.mark.parametrize("batch", range(BATCHES // 2))
def test_random_schedules_wiping_a_voter_are_safe_and_live(batch: int) -> None:
    """A voter's data dir wiped and the node restarted under its id (then maybe removed and joined
    again), checked after every step: it never votes, its acks never count (tests/raft/sim.py)."""
    if ONE_SEED is not None:
        if batch or not ONE_WIPES:
            pytest.skip("replaying one seed")
        run_seed(int(ONE_SEED), pipelined=ONE_PIPELINED, wipes=True)
        return
    for seed in range(batch, WIPE_SCHEDULES, BATCHES // 2):
        run_seed(seed, pipelined=seed % 3 == 0, wipes=True)


def test_pipelined_schedules_keep_several_readies_in_flight() -> None:
    """The pipelined simulation does pipeline: nodes hold more than one Ready in flight at times."""
    schedule = Schedule(3, pipelined=True)
    deepest = 0
    original = schedule.cluster.pump

    def pump(node: object) -> None:
        nonlocal deepest
        original(node)  # type: ignore[arg-type]
        deepest = max(deepest, len(node.queue))  # type: ignore[attr-defined]

    schedule.cluster.pump = pump  # type: ignore[method-assign]
    schedule.run()
    assert deepest > 1


def fingerprint(seed: int) -> str:
    schedule = Schedule(seed)
    outcome = schedule.run()
    digest = hashlib.sha256(repr(outcome).encode())
    for node in schedule.cluster.nodes.values():
        if node.raft is not None:
            digest.update(repr((node.node_id, node.raft.term, node.raft.log.entries)).encode())
    return digest.hexdigest()


def test_a_seed_replays_exactly() -> None:
    assert fingerprint(11) == fingerprint(11)
    assert fingerprint(11) != fingerprint(12)


def first_failing_seed(limit: int, pipelined: bool = False, wipes: bool = False) -> tuple[int, str] | None:
    for seed in range(limit):
        try:
            run_seed(seed, pipelined, wipes)
        except AssertionError as exc:
            return seed, str(exc)
    return None


def test_the_checker_catches_a_voter_that_votes_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    original = core.RaftNode._on_request_vote

    def forgetful(node: core.RaftNode, message: object) -> None:
        node.vote = None
        node.leader_id = None
        original(node, message)  # type: ignore[arg-type]

    monkeypatch.setattr(core.RaftNode, "_on_request_vote", forgetful)
    failure = first_failing_seed(50)
    assert failure is not None
    seed, text = failure
    assert "election safety" in text and f"PRINTFARM_SIM_SEED={seed}" in text


def test_the_checker_catches_votes_for_stale_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(raft_log.RaftLog, "is_up_to_date", lambda log, index, term: True)
    failure = first_failing_seed(50)
    assert failure is not None and "leader completeness" in failure[1]


def test_the_checker_catches_reads_without_a_leadership_check(monkeypatch: pytest.MonkeyPatch) -> None:
    def answer_at_once(node: core.RaftNode) -> None:
        if node.log.term(node.log.committed) == node.term:
            read_round = node._reads.start(node.log.committed)
            if read_round is not None:
                node._release_reads(node._reads.finish())

    monkeypatch.setattr(core.RaftNode, "_maybe_start_read_round", answer_at_once)
    failure = first_failing_seed(400)
    assert failure is not None and "stale read" in failure[1]


def test_the_pipelined_checker_catches_a_leader_counting_itself_before_its_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = core.RaftNode.ready

    def eager(node: core.RaftNode) -> object:
        ready = original(node)
        if node.role is core.Role.LEADER and ready.entries:
            node.log.stable_index = node.log.last_index()  # as if the write were durable already
        return ready

    monkeypatch.setattr(core.RaftNode, "ready", eager)
    failure = first_failing_seed(400, pipelined=True)
    assert failure is not None and "PRINTFARM_SIM_PIPELINED=1" in failure[1]
    assert "leader completeness" in failure[1] or "committed entry changed" in failure[1]


def first_seed_failing_with(
    words: tuple[str, ...], limit: int, pipelined: bool = False
) -> tuple[int, str] | None:
    """The first seed whose failure names one of `words` (a planted bug may also show up first as some other
    failure, e.g. a cluster that no longer settles, depending on what else the simulator checks)."""
    for seed in range(limit):
        try:
            run_seed(seed, pipelined)
        except AssertionError as exc:
            if any(word in str(exc) for word in words):
                return seed, str(exc)
    return None


def test_the_checker_catches_a_pipeline_that_defers_a_votes_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """MustSync: only a commit-index change may wait for the next write; a vote must be durable first."""

    def defer_without_entries(self: pipeline.ReadyPipeline, ready: object) -> object:
        hard_state = ready.hard_state or self._deferred.hard_state  # type: ignore[attr-defined]
        if hard_state is not None and not ready.entries:  # type: ignore[attr-defined]
            self._deferred.hard_state = hard_state
            return None
        self._deferred.hard_state = None
        return hard_state

    monkeypatch.setattr(pipeline.ReadyPipeline, "_hard_state_to_write", defer_without_entries)
    assert first_seed_failing_with(("election safety",), 400, pipelined=True) is not None


def test_the_checker_catches_a_pipeline_that_acks_before_the_write(monkeypatch: pytest.MonkeyPatch) -> None:
    original = pipeline.ReadyPipeline.take

    def eager_acks(self: pipeline.ReadyPipeline) -> list[pipeline.Work]:
        work = original(self)
        for slot in self._slots:
            if slot.ready.persisted_messages:
                work.append(pipeline.Send(slot.ready.persisted_messages))
                slot.ready.persisted_messages = []
        return work

    monkeypatch.setattr(pipeline.ReadyPipeline, "take", eager_acks)
    words = ("leader completeness", "committed entry changed")
    assert first_seed_failing_with(words, 400, pipelined=True) is not None


def test_the_checker_catches_a_wiped_node_that_votes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core.RaftNode, "_may_vote", lambda node: True)
    failure = first_failing_seed(60, wipes=True)
    assert failure is not None and "a wiped node voted" in failure[1]


def test_the_checker_catches_a_leader_counting_a_wiped_nodes_acks(monkeypatch: pytest.MonkeyPatch) -> None:
    def trusting(node: core.RaftNode, sender: str, progress: object, incarnation: str) -> None:
        progress.incarnation = incarnation  # type: ignore[attr-defined]  # no reset, never uncounted

    monkeypatch.setattr(core.RaftNode, "_note_incarnation", trusting)
    failure = first_failing_seed(400, wipes=True)
    assert failure is not None
    assert any(
        what in failure[1] for what in ("commit without a quorum", "leader completeness", "committed entry")
    ), failure[1]
