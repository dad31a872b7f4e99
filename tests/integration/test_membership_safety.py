"""Membership changes an operator (or an attacker with the API) can get wrong, on real node processes.

Each scenario ends by checking the promise: every acknowledged write is on every node still in the
cluster, and their replicas are identical.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from tests.support.cluster import Cluster, Node, wait_for

pytestmark = pytest.mark.integration


def write(node: Node, printer_id: str, acked: list[str]) -> None:
    reply = node.post("/api/v1/printers", {"id": printer_id, "company": "HP", "model": "L12"}, timeout=15)
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
SILENT_FOR = 3.0  # with a wide margin: ticks run late on a loaded machine


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


def no_leader_for(nodes: list[Node], seconds: float) -> None:
    """Poll for `seconds`: no node in `nodes` may say Leader."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        leaders = [node.node_id for node in nodes if node.state() == "Leader"]
        assert not leaders, f"{leaders} became leader"
        time.sleep(0.1)


def rejoin(cluster: Cluster, at: Node, node: Node) -> None:
    """What the wiped node's log line says to do: remove it, then join it again."""
    reply = at.request("DELETE", f"/raft/members/{node.node_id}", timeout=15)
    assert reply.status == 204, (reply.status, reply.body)
    reply = at.post(f"/join?node_id={node.node_id}&addr={node.raft_addr}", timeout=15)
    assert reply.status == 200, (reply.status, reply.body)
    cluster.wait_converged(30)


def test_a_wiped_voter_under_the_same_id_never_votes_until_joined_again(
    cluster_factory: Callable[..., Cluster],
) -> None:
    cluster = cluster_factory(3)
    node1, node2, node3 = cluster.nodes
    cluster.bootstrap()
    leader = cluster.leader()
    assert leader is node1
    acked: list[str] = []
    for number in range(5):
        write(node1, f"all-{number}", acked)
    node3.kill()
    for number in range(20):
        write(node1, f"without-node3-{number}", acked)  # on node1 and node2 only
    node2.kill()
    shutil.rmtree(node2.data_dir)  # an operator wipes node2's data dir and starts it again
    node2.start()
    wait_for(node2.healthy, 20, what="the wiped node2 to start")
    node1.kill()  # the only other holder of the 20 writes
    node3.start()
    wait_for(node3.healthy, 20, what="node3 to start")
    # node3 lacks the 20 writes: only node2's vote could make it leader, and node2 must not give it.
    no_leader_for([node2, node3], 4.0)
    node1.start()
    new = cluster.leader(timeout=30)
    assert new is node1, new.node_id
    wait_for(lambda: "will not vote" in node2.log_text(), 20, what="node2 to say it will not vote")
    assert f"DELETE /raft/members/{node2.node_id}" in node2.log_text()
    write(node3, "after-restart", acked)  # node1 and node3 commit without node2
    rejoin(cluster, node1, node2)
    write(node2, "after-rejoin", acked)
    assert_all_acked_everywhere(cluster.nodes, acked)


def snapshot_files(node: Node) -> list[Path]:
    return sorted((node.data_dir / "snap").glob("*.snap"))


def corrupt_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_deleted_wal_refuses_to_start_naming_what_is_missing(
    cluster_factory: Callable[..., Cluster],
) -> None:
    cluster = cluster_factory(3, extra_args=("--snapshot-every=20",))
    node1, _node2, node3 = cluster.nodes
    cluster.bootstrap()
    acked: list[str] = []
    for number in range(30):
        write(node1, f"p{number:02d}", acked)
    wait_for(lambda: snapshot_files(node3), 20, what="node3 to take a snapshot")
    assert node3.stop() == 0
    for segment in (node3.data_dir / "wal").glob("*.wal"):
        segment.unlink()
    node3.start()
    wait_for(lambda: node3.exit_code() is not None, 20, what="node3 to refuse to start")
    assert node3.exit_code() != 0
    log = node3.log_text()
    assert "holds no WAL segment at all" in log and "term" in log and "refuses to start" in log
    write(node1, "while-node3-refuses", acked)  # node1 and node2 still serve
    # Recovery as the message says: wipe the data dir, start the node, remove it and join it again.
    shutil.rmtree(node3.data_dir)
    node3.start()
    wait_for(lambda: "will not vote" in node3.log_text(), 20, what="the wiped node3 to wait")
    rejoin(cluster, node1, node3)
    write(node3, "after-rejoin", acked)
    assert_all_acked_everywhere(cluster.nodes, acked)


def test_a_corrupt_newest_snapshot_twice_in_a_row_is_survived(
    cluster_factory: Callable[..., Cluster],
) -> None:
    cluster = cluster_factory(3, extra_args=("--snapshot-every=20",))
    node1, _node2, node3 = cluster.nodes
    cluster.bootstrap()
    acked: list[str] = []
    batch = 0
    for round_number in range(2):
        for _ in range(45):  # two more snapshots on every node
            write(node1, f"p{batch:03d}", acked)
            batch += 1
        wait_for(lambda: len(snapshot_files(node3)) >= 2, 20, what="node3 to keep two snapshots")
        wait_for(
            lambda: replica(node3) is not None and len(replica(node3) or []) == len(acked),
            20,
            what="node3 to catch up",
        )
        assert node3.stop() == 0
        newest = snapshot_files(node3)[-1]
        corrupt_last_byte(newest)
        node3.start()
        wait_for(lambda: node3.state() == "Follower", 20, what="node3 to start on its older snapshot")
        log = node3.log_text()
        assert f"snapshot {newest} is corrupt" in log, round_number
        assert newest.with_name(newest.name + ".corrupt").exists()
        write(node3, f"after-corruption-{round_number}", acked)
    assert_all_acked_everywhere(cluster.nodes, acked)
