"""API.md promises that only a real cluster can show: exactly-once across a leader kill, events resumed
after a reconnect, and 503 no_leader (with stale reads still served) when a majority is gone."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.cluster import Cluster, Node, wait_for
from tests.support.seed import PRINTER_WORKFLOW

pytestmark = pytest.mark.integration

PRINTER = {"id": "p1", "company": "Prusa", "model": "MK4"}
SHOWN = {**PRINTER, **PRINTER_WORKFLOW}  # what reads show: the seed's fields and the workflow's


def read_events(
    node: Node, last_event_id: int | None, count: int, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Open /api/v1/events, collect `count` events (data payloads), then hang up."""
    connection = http.client.HTTPConnection("127.0.0.1", node.http_port, timeout=timeout)
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    connection.request("GET", "/api/v1/events", headers=headers)
    reply = connection.getresponse()
    assert reply.status == 200, reply.status
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(events) < count and time.monotonic() < deadline:
            line = reply.fp.readline().decode()
            if line.startswith("data:"):
                events.append(json.loads(line[len("data:"):]))
    finally:
        connection.close()
    return events


def test_a_retried_write_applies_once_across_a_leader_kill(cluster_factory: Callable[..., Cluster]) -> None:
    cluster = cluster_factory()
    cluster.bootstrap()
    old_leader = cluster.wait_converged()
    follower = cluster.followers()[0]
    key = {"Idempotency-Key": "create-p1-attempt"}

    first = follower.post("/api/v1/printers", PRINTER, headers=key)
    assert first.status == 201, first.body

    old_leader.kill()
    cluster.leader(exclude=[old_leader.node_id], timeout=20)
    survivor = next(node for node in cluster.running() if node is not follower)

    retry = survivor.post("/api/v1/printers", PRINTER, headers=key)
    assert (retry.status, retry.json()) == (201, first.json())
    plain = survivor.post("/api/v1/printers", PRINTER)
    assert plain.status == 409 and plain.json()["code"] == "already_exists"
    reused = survivor.post("/api/v1/filaments", {"id": "f1", "type": "PLA", "color": "Red",
                                                 "total_weight_in_grams": 5, "remaining_weight_in_grams": 5},
                           headers=key)
    assert reused.status == 422 and reused.json()["code"] == "idempotency_key_reused"
    assert survivor.get("/api/v1/filaments").json() == []

    old_leader.start()
    wait_for(lambda: old_leader.state() == "Follower", 20, what="the old leader to rejoin as Follower")
    printers = wait_for(lambda: old_leader.get("/api/v1/printers?consistency=stale").json() or None, 20)
    assert printers == [SHOWN]


def test_events_resume_after_a_reconnect_without_gaps(cluster_factory: Callable[..., Cluster]) -> None:
    cluster = cluster_factory()
    cluster.bootstrap()
    leader = cluster.wait_converged()
    follower = cluster.followers()[0]
    for number in range(3):
        assert leader.post("/api/v1/printers", {**PRINTER, "id": f"p{number}"}).status == 201

    seen = read_events(follower, last_event_id=0, count=3)
    assert [event["type"] for event in seen] == ["printer.created"] * 3
    last = seen[-1]["index"]

    for number in range(3, 6):
        assert leader.post("/api/v1/printers", {**PRINTER, "id": f"p{number}"}).status == 201
    resumed = read_events(follower, last_event_id=last, count=3)
    assert [event["data"]["id"] for event in resumed] == ["p3", "p4", "p5"]
    assert all(event["index"] > last for event in resumed)
    assert [event["index"] for event in resumed] == sorted({event["index"] for event in resumed})


def test_without_a_majority_writes_answer_503_and_stale_reads_still_work(
    cluster_factory: Callable[..., Cluster],
) -> None:
    cluster = cluster_factory(extra_args=("--request-timeout=1.5",))
    cluster.bootstrap()
    leader = cluster.wait_converged()
    assert leader.post("/api/v1/printers", PRINTER).status == 201
    lone = cluster.followers()[0]
    wait_for(lambda: lone.get("/api/v1/printers?consistency=stale").json() == [SHOWN], 10)
    for node in cluster.running():
        if node is not lone:
            node.kill()

    def no_leader_answer() -> Any:
        reply = lone.post("/api/v1/printers", {**PRINTER, "id": "p2"}, timeout=10)
        return reply if reply.status == 503 else None

    refused = wait_for(no_leader_answer, 20, interval=0.2, what="the lone node to answer 503")
    problem = refused.json()
    assert problem["code"] == "no_leader" and problem["status"] == 503 and problem["detail"]
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "retry-after" in refused.headers
    linearizable = lone.get("/api/v1/printers", timeout=10)
    assert linearizable.status == 503 and linearizable.json()["code"] == "no_leader"
    stale = lone.get("/api/v1/printers?consistency=stale")
    assert (stale.status, stale.json()) == (200, [SHOWN])
