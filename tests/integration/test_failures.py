"""Crashes, restarts and a far-behind node, against real node processes."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.support.cluster import Cluster, Node, wait_for

pytestmark = pytest.mark.integration


def printer(printer_id: str) -> dict[str, str]:
    return {"id": printer_id, "company": "HP", "model": "L12"}


def printer_ids(node: Node, consistency: str = "linearizable") -> list[str] | None:
    reply = node.get(f"/api/v1/printers?consistency={consistency}", timeout=6)
    return [p["id"] for p in reply.json()] if reply.status == 200 else None


def create(node: Node, printer_id: str) -> None:
    reply = node.post("/api/v1/printers", printer(printer_id), timeout=15)
    assert reply.status == 201, (node.node_id, reply.status, reply.body)


def test_leader_crash_failover_rejoin_and_full_restart(cluster_factory: Callable[..., Cluster]) -> None:
    cluster = cluster_factory(3)
    cluster.bootstrap()
    old = cluster.leader()
    create(old, "before-crash")

    old.kill()  # kill -9: no goodbye
    survivors = [node for node in cluster.nodes if node is not old]
    new = cluster.leader(timeout=20, exclude=[old.node_id])
    assert new in survivors
    create(new, "after-crash-at-leader")
    follower = next(node for node in survivors if node is not new)
    create(follower, "after-crash-at-follower")

    old.start()  # same flags, no --bootstrap: rejoins as a follower with its data
    wait_for(lambda: old.state() == "Follower", 20, what="the old leader to follow")
    expected = ["after-crash-at-follower", "after-crash-at-leader", "before-crash"]
    wait_for(lambda: printer_ids(old, "stale") == expected, 20, what="the old leader to catch up")
    assert printer_ids(old) == expected
    create(old, "written-at-the-old-leader")
    expected = sorted([*expected, "written-at-the-old-leader"])

    assert set(cluster.stop_all().values()) == {0}
    for node in cluster.nodes:
        node.start()
    cluster.wait_converged(30)
    for node in cluster.nodes:
        assert printer_ids(node, "stale") == expected, node.node_id
        assert printer_ids(node) == expected, node.node_id
    create(cluster.nodes[1], "after-full-restart")


def test_a_far_behind_node_catches_up_through_a_snapshot(cluster_factory: Callable[..., Cluster]) -> None:
    # a tail shorter than node3's lag: the leader no longer holds the entries it missed
    cluster = cluster_factory(3, extra_args=("--snapshot-every=25", "--compaction-tail=10"))
    node1, node2, node3 = cluster.nodes
    node1.start(bootstrap=True)
    node2.start(join=node1.url)  # joining by itself at start
    node3.start(join=node1.url)
    cluster.wait_converged(30)
    create(node1, "p000")

    node3.stop()
    leader = cluster.leader()
    for number in range(1, 121):
        create(leader, f"p{number:03d}")
    wait_for(lambda: "snapshot at index" in leader.log_text(), 10, what="the leader to snapshot")

    node3.start()
    expected = [f"p{number:03d}" for number in range(121)]
    wait_for(lambda: printer_ids(node3, "stale") == expected, 30, what="node3 to catch up")
    pattern = r"restored the farm from a snapshot at index (\d+)"
    restored = [int(index) for index in re.findall(pattern, node3.log_text())]
    assert max(restored) > 25, "node3 should have been sent a snapshot, not the compacted log"
    assert node3.state() == "Follower"


def test_a_briefly_lagging_node_catches_up_from_the_leader_s_log_tail(
    cluster_factory: Callable[..., Cluster],
) -> None:
    cluster = cluster_factory(3, extra_args=("--snapshot-every=25",))  # the default tail: 5,000 entries
    node1, node2, node3 = cluster.nodes
    node1.start(bootstrap=True)
    node2.start(join=node1.url)
    node3.start(join=node1.url)
    cluster.wait_converged(30)
    create(node1, "p000")

    node3.stop()
    leader = cluster.leader()
    for number in range(1, 61):
        create(leader, f"p{number:03d}")
    wait_for(lambda: "snapshot at index" in leader.log_text(), 10, what="the leader to snapshot")

    node3.start()
    expected = [f"p{number:03d}" for number in range(61)]
    wait_for(lambda: printer_ids(node3, "stale") == expected, 30, what="node3 to catch up")
    pattern = r"restored the farm from a snapshot at index (\d+)"
    restored = [int(index) for index in re.findall(pattern, node3.log_text())]
    assert max(restored, default=0) <= 25, "node3 should have caught up from the log, not a snapshot"
