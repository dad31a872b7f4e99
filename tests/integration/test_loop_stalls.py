"""A big farm keeps every node's loop turning: a control client polling /healthz every 20 ms sees no long
stall while full lists stream and while every node snapshots (a functional property at 50k objects with a
generous bound, not a benchmark: bench/scale.py measures the real figures at 300k)."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable

from tests.support.cluster import Cluster, wait_for
from tests.support.preseed import build, install
from tests.support.stall_probe import StallProbe

OBJECTS = 50_000
STALL_BOUND = 0.5  # seconds; building these lists or this snapshot on the loop took longer than this
SNAPSHOT_EVERY = 200


def full_list(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()  # parsed later: parsing here would hold up the probe threads of this process


def test_full_lists_and_snapshots_do_not_stall_the_loop(cluster_factory: Callable[..., Cluster]) -> None:
    built = build(OBJECTS)
    cluster = cluster_factory(3, extra_args=(f"--snapshot-every={SNAPSHOT_EVERY}",))
    seeded = install(cluster, built)
    for node in cluster.nodes:
        node.start()
    leader = cluster.leader(60)
    for node in cluster.nodes:
        wait_for(lambda node=node: node.get("/readyz").status == 200, 60, what=f"{node.node_id} ready")

    probes = [StallProbe(node.url) for node in cluster.nodes]
    for probe in probes:
        probe.__enter__()
    try:
        # Full lists, three at once on the leader: every object, in id order.
        started = time.monotonic()
        results: dict[str, bytes] = {}
        threads = [
            threading.Thread(target=lambda path=path: results.__setitem__(path, full_list(leader.url + path)))
            for path in ("/api/v1/printers", "/api/v1/filaments", "/api/v1/print_jobs")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        lists_stall = max(probe.worst(started) for probe in probes)
        jobs = [job["job_id"] for job in json.loads(results["/api/v1/print_jobs"])]
        assert len(jobs) == seeded.jobs and jobs == sorted(jobs)
        assert len(json.loads(results["/api/v1/printers"])) == seeded.printers

        # Enough writes for every node to snapshot the whole farm.
        started = time.monotonic()
        for number in range(SNAPSHOT_EVERY + 20):
            reply = leader.post("/api/v1/printers", {"id": f"extra-{number}", "company": "HP", "model": "L"})
            assert reply.status == 201, reply.body
        for node in cluster.nodes:
            wait_for(lambda node=node: "snapshot at index" in node.log_text(), 60, what="a snapshot")
        snapshot_stall = max(probe.worst(started) for probe in probes)
        assert all(probe.count(started) > 10 for probe in probes)
    finally:
        for probe in probes:
            probe.__exit__()

    print(f"worst stall: full lists {lists_stall * 1e3:.0f} ms, snapshot {snapshot_stall * 1e3:.0f} ms")
    assert lists_stall < STALL_BOUND, f"a full list stalled a loop for {lists_stall * 1e3:.0f} ms"
    assert snapshot_stall < STALL_BOUND, f"a snapshot stalled a loop for {snapshot_stall * 1e3:.0f} ms"
    assert cluster.leader_now() is leader  # and nobody lost leadership over it
