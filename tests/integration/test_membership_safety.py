"""Membership changes an operator (or an attacker with the API) can get wrong, on real node processes.

Each scenario ends by checking the promise: every acknowledged write is on every node still in the
cluster, and their replicas are identical.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import pytest

from tests.support.cluster import Cluster, Node, wait_for

pytestmark = pytest.mark.integration


def write(node: Node, printer_id: str, acked: list[str]) -> None:
    reply = node.post(
        "/api/v1/printers", {"id": printer_id, "company": "HP", "model": "L12"}, timeout=15
    )
    assert reply.status == 201, (node.node_id, reply.status, reply.body)
    acked.append(printer_id)


def replica(node: Node) -> list[dict[str, object]] | None:
    reply = node.get("/api/v1/printers?consistency=stale", timeout=5)
    return reply.json() if reply.status == 200 else None


def assert_all_acked_everywhere(nodes: Iterable[Node], acked: list[str]) -> None:
    """Every acknowledged write is on every node, and the replicas are identical."""
    nodes = list(nodes)
    expected = sorted(acked)

    def converged() -> bool:
        copies = [replica(node) for node in nodes]
        if any(copy is None for copy in copies):
            return False
        ids = [sorted(p["id"] for p in copy) for copy in copies]  # type: ignore[union-attr]
        return all(found == expected for found in ids) and all(copy == copies[0] for copy in copies)

    wait_for(converged, 30, what=f"every acknowledged write on {[n.node_id for n in nodes]}")


def members(node: Node) -> dict[str, tuple[str, str]]:
    status = node.status()
    assert status is not None
    return {m["node_id"]: (m["addr"], m["role"]) for m in status["members"]}


def test_join_address_conflicts_are_refused_and_change_nothing(
    cluster_factory: Callable[..., Cluster],
) -> None:
    cluster = cluster_factory(3)
    leader = cluster.bootstrap()
    acked: list[str] = []
    write(leader, "before", acked)
    follower = next(node for node in cluster.nodes if node is not leader)
    before = members(leader)
    rogue = "127.0.0.1:1"
    for node in (leader, follower):  # decided at the leader, also when forwarded
        reply = node.post(f"/join?node_id={follower.node_id}&addr={rogue}")
        problem = reply.json()
        assert (reply.status, problem["code"]) == (409, "address_conflict"), problem
        assert follower.raft_addr in problem["detail"]
        reply = node.post(f"/join?node_id=intruder&addr={follower.raft_addr}")
        assert (reply.status, reply.json()["code"]) == (409, "address_conflict")
    # The same join again is still a no-op 200.
    reply = leader.post(f"/join?node_id={follower.node_id}&addr={follower.raft_addr}")
    assert reply.status == 200, reply.body
    assert members(leader) == before
    write(follower, "after", acked)
    assert_all_acked_everywhere(cluster.nodes, acked)
    for node in cluster.nodes:
        assert members(node) == before


def test_removing_the_leader_succeeds_and_it_steps_down(cluster_factory: Callable[..., Cluster]) -> None:
    cluster = cluster_factory(3)
    leader = cluster.bootstrap()
    acked: list[str] = []
    for number in range(5):
        write(leader, f"p{number}", acked)
    reply = leader.request("DELETE", f"/raft/members/{leader.node_id}", timeout=15)
    assert reply.status == 204, (reply.status, reply.body)
    rest = [node for node in cluster.nodes if node is not leader]
    new = cluster.leader(timeout=20, exclude=[leader.node_id])
    assert new in rest
    assert leader.node_id not in members(new)
    wait_for(lambda: leader.state() == "Follower", 10, what="the removed leader to step down")
    write(rest[0], "after-removal", acked)
    write(rest[1], "after-removal-2", acked)
    assert_all_acked_everywhere(rest, acked)


# Nodes tick every 50 ms with an election timeout of 10 ticks: a voter silent for two check-quorum rounds
# (up to 1 s) is no longer counted as live by the leader.
SILENT_FOR = 1.5


def test_removing_a_voter_while_another_is_down_is_refused(cluster_factory: Callable[..., Cluster]) -> None:
    cluster = cluster_factory(3)
    leader = cluster.bootstrap()
    acked: list[str] = []
    write(leader, "before", acked)
    live, down = [node for node in cluster.nodes if node is not leader]
    down.kill()
    killed_at = time.monotonic()
    number = 0
    while time.monotonic() - killed_at < SILENT_FOR:  # the cluster keeps serving meanwhile
        write(leader, f"while-down-{number}", acked)
        number += 1
    reply = leader.request("DELETE", f"/raft/members/{live.node_id}", timeout=15)
    problem = reply.json()
    assert (reply.status, problem["code"]) == (409, "would_lose_quorum"), problem
    assert down.node_id in problem["detail"]
    assert set(members(leader)) == {n.node_id for n in cluster.nodes}
    assert members(leader)[live.node_id][1] == "voter"
    write(live, "after-refusal", acked)  # still serving: nothing was appended
    # The way back: remove the dead voter while the others are live.
    reply = live.request("DELETE", f"/raft/members/{down.node_id}", timeout=15)
    assert reply.status == 204, (reply.status, reply.body)
    write(live, "after-removal", acked)
    assert_all_acked_everywhere([leader, live], acked)
