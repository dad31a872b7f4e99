"""The seed's README walk-through against three real node processes, then the same through followers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.cluster import Cluster, Node, wait_for
from tests.support.seed import FILAMENT, JOB, PRINTER, PRINTER_WORKFLOW

pytestmark = pytest.mark.integration


def ids(node: Node, path: str, key: str = "id") -> list[str]:
    reply = node.get(path)
    assert reply.status == 200, (reply.status, reply.body)
    return [item[key] for item in reply.json()]


def test_seed_walkthrough_then_any_node_serves_writes(cluster_factory: Callable[..., Cluster]) -> None:
    cluster = cluster_factory(3)
    node1, node2, node3 = cluster.nodes
    node1.start(bootstrap=True)
    node2.start()
    node3.start()

    # The seed's curl, sent as soon as node1 answers HTTP: /join waits for the leader instead of refusing.
    wait_for(node1.healthy, 20, what="node1 to serve HTTP")
    for node in (node2, node3):
        reply = node1.post(f"/join?node_id={node.node_id}&addr={node.raft_addr}")
        assert reply.status == 200, (reply.status, reply.body)
        assert reply.json() == {"node_id": node.node_id, "addr": node.raft_addr, "status": "joined"}
    cluster.wait_converged(30)

    for node, word in ((node1, "Leader"), (node2, "Follower"), (node3, "Follower")):
        reply = node.get("/raft/state")
        assert reply.status == 200
        assert reply.text == word
        assert reply.headers["content-type"].startswith("text/plain")

    reply = node1.post("/api/v1/printers", PRINTER)
    assert reply.status == 201 and reply.json() == {**PRINTER, **PRINTER_WORKFLOW}
    assert node1.get("/api/v1/printers").json() == [{**PRINTER, **PRINTER_WORKFLOW}]

    reply = node1.post("/api/v1/filaments", FILAMENT)
    assert reply.status == 201
    assert reply.json()["remaining_weight_in_grams"] == 100
    assert ids(node1, "/api/v1/filaments") == ["f1"]

    reply = node1.post("/api/v1/print_jobs", JOB)
    assert reply.status == 201, reply.body
    job = reply.json()
    assert (job["job_id"], job["status"], job["details"]) == ("job1", "Queued", "mountain")
    assert ids(node1, "/api/v1/print_jobs", "job_id") == ["job1"]

    reply = node1.put("/api/v1/print_jobs/job1/status?status=Running")
    assert reply.status == 200 and reply.json()["status"] == "Running"
    reply = node1.put("/api/v1/print_jobs/job1/status?status=Done")
    assert reply.status == 200 and reply.json()["status"] == "Done"
    filament = node1.get("/api/v1/filaments").json()[0]
    assert filament["remaining_weight_in_grams"] == 50
    reply = node1.put("/api/v1/print_jobs/job1/status?status=Running")
    assert reply.status == 409 and reply.json()["code"] == "invalid_transition"

    # The same kind of writes, sent to the followers: forwarded to the leader, answered where they arrived.
    reply = node2.post("/api/v1/printers", {"id": "printer2", "company": "Prusa", "model": "MK4"})
    assert reply.status == 201, reply.body
    reply = node3.post("/api/v1/filaments", dict(FILAMENT, id="f2", color="Red"))
    assert reply.status == 201, reply.body
    job2 = dict(JOB, job_id="job2", printer_id="printer2", filament_id="f2")
    reply = node2.post("/api/v1/print_jobs", job2)
    assert reply.status == 201, reply.body
    reply = node3.put("/api/v1/print_jobs/job2/status?status=Running")
    assert reply.status == 200 and reply.json()["status"] == "Running"
    reply = node2.put("/api/v1/print_jobs/job2/status?status=Cancelled&used_grams=5")
    assert reply.status == 200 and reply.json()["status"] == "Cancelled"
    reply = node3.post("/api/v1/printers", PRINTER)
    assert reply.status == 409 and reply.json()["code"] == "already_exists"  # refusals travel back too

    # Linearizable reads on every node see every write at once.
    for node in cluster.nodes:
        assert ids(node, "/api/v1/printers") == ["printer1", "printer2"]
        assert ids(node, "/api/v1/print_jobs", "job_id") == ["job1", "job2"]
        filaments = {f["id"]: f["remaining_weight_in_grams"] for f in node.get("/api/v1/filaments").json()}
        assert filaments == {"f1": 50, "f2": 95}

    # /join is idempotent, and answered by a follower too.
    reply = node3.post(f"/join?node_id=node2&addr={node2.raft_addr}")
    assert reply.status == 200 and reply.json()["status"] == "joined"
    assert cluster.stop_all() == {"node1": 0, "node2": 0, "node3": 0}
