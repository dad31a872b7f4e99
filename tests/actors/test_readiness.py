"""/readyz: ready only once the node has applied what the leader had committed when it asked."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from actors.http_bridge import READY_LAG, HttpBridgeActor
from raft.errors import NotLeader


class FakeRaft:
    def __init__(self, leader_commit: int | Exception, own_commit: int) -> None:
        self.leader_commit = leader_commit
        self.node = SimpleNamespace(leader_id="n1", commit_index=own_commit)
        self.asked = 0

    async def ask(self, message: Any, timeout: float) -> int:
        self.asked += 1
        if isinstance(self.leader_commit, Exception):
            raise self.leader_commit
        return self.leader_commit


def bridge(raft: FakeRaft, applied: int) -> HttpBridgeActor:
    state_machine = SimpleNamespace(applied_index=applied)
    return HttpBridgeActor("n2", raft, state_machine, None, None, None)  # type: ignore[arg-type]


def test_a_node_that_applied_its_own_commit_but_not_the_leader_s_is_not_ready() -> None:
    # Its own commit index lags the leader's (it has not heard of the newer entries): the old rule said ready.
    raft = FakeRaft(leader_commit=5000, own_commit=1000)
    lagging = bridge(raft, applied=1000)
    assert lagging.is_ready()
    assert asyncio.run(lagging.caught_up()) is False
    assert raft.asked == 1


def test_ready_within_the_documented_lag_and_not_when_the_leader_cannot_be_asked() -> None:
    assert asyncio.run(bridge(FakeRaft(1000 + READY_LAG, 1000), applied=1000).caught_up()) is True
    assert asyncio.run(bridge(FakeRaft(1001 + READY_LAG, 1000), applied=1000).caught_up()) is False
    assert asyncio.run(bridge(FakeRaft(NotLeader("n1"), 1000), applied=1000).caught_up()) is False
    assert asyncio.run(bridge(FakeRaft(TimeoutError(), 1000), applied=1000).caught_up()) is False
