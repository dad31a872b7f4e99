"""Peers you can trust, on real processes: a keyed cluster works and survives kill -9; attackers on the raft
ports (without the key, with a wrong key, and against a keyless loopback cluster) change no term, no leader
and no data; invented sender ids cost no file descriptors."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import zmq

from actors import peer_key
from tests.support.cluster import REPO, Cluster, Node, wait_for
from tests.support.fixtures import needs_curve
from tests.support.intruder import Intruder, cluster_id_of, dropped, open_files, snapshot_of

pytestmark = pytest.mark.integration

ATTACK_SECONDS = 5.0
MEMBERS = ("node1", "node2", "node3")


def create(node: Node, printer_id: str) -> None:
    reply = node.post("/api/v1/printers", {"id": printer_id, "company": "HP", "model": "L12"}, timeout=15)
    assert reply.status == 201, (node.node_id, reply.status, reply.body)


def printers(node: Node) -> list[str]:
    return sorted(p["id"] for p in node.get("/api/v1/printers?consistency=stale", timeout=5).json())


def settled(cluster: Cluster) -> dict[str, tuple[str | None, int, list[str]]]:
    """Every node agrees on leader, term and data (a quiet cluster), returned as seen."""

    def agreed() -> dict[str, tuple[str | None, int, list[str]]] | None:
        seen = snapshot_of(cluster)
        return seen if len(set(map(repr, seen.values()))) == 1 else None

    return wait_for(agreed, 20, what="every node to agree on leader, term and data")


@needs_curve
def test_a_keyed_cluster_forms_serves_writes_and_survives_kill_9_of_its_leader(
    cluster_factory: Callable[..., Cluster],
) -> None:
    cluster = cluster_factory(3, cluster_key=True)
    cluster.bootstrap()
    leader = cluster.leader()
    create(leader, "p1")
    create(cluster.followers()[0], "p2")  # forwarded to the leader over the encrypted link
    leader.kill()
    new = cluster.leader(timeout=20, exclude=[leader.node_id])
    create(new, "p3")
    leader.start()
    cluster.wait_converged(30)
    wait_for(lambda: all(printers(node) == ["p1", "p2", "p3"] for node in cluster.nodes), 20, what="catch-up")
    for node in cluster.nodes:
        assert dropped(node).get("unauthenticated", 0) == 0, node.node_id  # its own peers always got in


@needs_curve
def test_peers_without_the_key_change_no_term_no_leader_and_no_data(
    cluster_factory: Callable[..., Cluster],
) -> None:
    cluster = cluster_factory(3, cluster_key=True)
    cluster.bootstrap()
    create(cluster.leader(), "p1")
    before = settled(cluster)
    cluster_id = cluster_id_of(cluster.nodes[0])
    key = peer_key.load(cluster.cluster_key)
    wrong_public, wrong_secret = zmq.curve_keypair()
    attackers = [
        Intruder(),  # plain ZeroMQ
        Intruder(curve=(wrong_public, wrong_public, wrong_secret)),  # a Curve client with another key
        Intruder(curve=(key.public, wrong_public, wrong_secret)),  # knows the server key, not the secret
    ]
    threads = [
        threading.Thread(target=attacker.flood, args=(cluster.nodes, MEMBERS, cluster_id, ATTACK_SECONDS))
        for attacker in attackers
    ]  # all three at once, for the whole attack
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for attacker in attackers:
            attacker.close()
    assert sum(attacker.sent for attacker in attackers) > 100
    assert settled(cluster) == before
    counts = [dropped(node) for node in cluster.nodes]
    assert sum(c.get("unauthenticated", 0) for c in counts) > 0, counts  # the ZAP handler refused them
    for count in counts:  # nothing they sent got as far as being looked at
        assert count.get("not_a_member", 0) == count.get("malformed", 0) == 0, counts
    create(cluster.nodes[2], "p2")


def test_garbage_amplification_and_identity_hijack_change_no_leader_of_a_keyless_cluster(
    cluster_factory: Callable[..., Cluster],
) -> None:
    cluster = cluster_factory(3)
    cluster.bootstrap()
    create(cluster.leader(), "p1")
    before = settled(cluster)
    cluster_id = cluster_id_of(cluster.nodes[0])
    attacker = Intruder()
    try:
        attacker.amplify(cluster.nodes, MEMBERS, rounds=3)
        attacker.hijack(cluster.nodes, MEMBERS, cluster_id, ATTACK_SECONDS)
        attacker.flood(cluster.nodes, MEMBERS, cluster_id, 2.0)
    finally:
        attacker.close()
    assert settled(cluster) == before
    assert sum(dropped(node).get("not_a_member", 0) for node in cluster.nodes) > 0  # the invented ids
    create(cluster.nodes[1], "p2")
    assert all(printers(node) == ["p1", "p2"] for node in cluster.nodes if node.alive()) or wait_for(
        lambda: all(printers(node) == ["p1", "p2"] for node in cluster.nodes), 10, what="replication"
    )


def test_a_thousand_invented_sender_ids_open_no_file_descriptors(
    cluster_factory: Callable[..., Cluster],
) -> None:
    cluster = cluster_factory(2)
    member, fresh = cluster.nodes
    member.start(bootstrap=True)
    fresh.start()  # waits to be joined: hears leaders it does not know yet, through a few links at most
    wait_for(lambda: member.state() == "Leader" and fresh.healthy(), 20, what="both nodes up")
    cluster_id = cluster_id_of(member)
    baseline = {node.node_id: open_files(node) for node in (member, fresh)}
    attacker = Intruder()
    try:
        for node in (member, fresh):
            attacker.invent(node, cluster_id, 1000)
    finally:
        attacker.close()
    # the attacker's own connections close with it; what is left is what the nodes opened
    for node in (member, fresh):
        wait_for(
            lambda node=node: open_files(node) <= baseline[node.node_id] + 12,
            15,
            what=f"{node.node_id}'s open files to return near {baseline[node.node_id]}",
        )
    assert member.state() == "Leader"
    create(member, "p1")


@needs_curve
def test_keygen_writes_a_private_key_the_node_accepts_and_refuses_a_wrong_one(tmp_path: Path) -> None:
    key_file = tmp_path / "cluster.key"
    cli = [sys.executable, str(REPO / "cli.py")]
    done = subprocess.run([*cli, "keygen", str(key_file)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert key_file.stat().st_mode & 0o777 == 0o600
    again = subprocess.run([*cli, "keygen", str(key_file)], capture_output=True, text=True, timeout=30)
    assert again.returncode != 0 and "--force" in again.stderr
    bad = tmp_path / "bad.key"
    bad.write_text("public = nope\n")
    node = [*cli, "node", "--node_id=n1", "--http_port=1", f"--data_dir={tmp_path / 'data'}"]
    refused = subprocess.run(
        [*node, "--raft_addr=127.0.0.1:1", f"--cluster-key={bad}"], capture_output=True, text=True, timeout=30
    )
    assert refused.returncode == 2 and str(bad) in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    open_port = subprocess.run([*node, "--raft_addr=0.0.0.0:1"], capture_output=True, text=True, timeout=30)
    assert open_port.returncode == 2 and "--cluster-key" in open_port.stderr
    assert not (tmp_path / "data").exists()  # refused before touching anything
