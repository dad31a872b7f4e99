"""The farm's workflow walked through real node processes: every write sent to a follower (forwarded to the
leader), every read checked at another node (linearizable, so it sees the write at once)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.cluster import Cluster, Node

pytestmark = pytest.mark.integration

JOBS = "/api/v1/print_jobs"


def ok(reply: Any, status: int = 200) -> Any:
    assert reply.status == status, (reply.status, reply.body)
    return reply.json() if reply.body else None


def refused(reply: Any, status: int, code: str) -> None:
    assert (reply.status, reply.json()["code"]) == (status, code), reply.body


def test_the_workflow_through_followers(cluster_factory: Callable[..., Cluster]) -> None:
    cluster = cluster_factory()
    cluster.bootstrap()
    leader = cluster.wait_converged()
    writer, reader = cluster.followers()[:2]
    nodes: list[Node] = [leader, writer, reader]

    ok(writer.post("/api/v1/printers", {"id": "mk4", "company": "Prusa", "model": "MK4"}), 201)
    spool = {
        "id": "pla",
        "type": "PLA",
        "color": "Red",
        "total_weight_in_grams": 1000,
        "remaining_weight_in_grams": 100,
        "low_stock_threshold_in_grams": 30,
    }
    ok(writer.post("/api/v1/filaments", spool), 201)
    for job_id, priority in (("a", 0), ("b", 10), ("c", 0)):
        body = {
            "job_id": job_id,
            "printer_id": "mk4",
            "filament_id": "pla",
            "print_weight_in_grams": 20,
            "priority": priority,
        }
        ok(writer.post(JOBS, body), 201)
    assert [j["job_id"] for j in ok(reader.get("/api/v1/printers/mk4/queue"))] == ["b", "a", "c"]
    ok(writer.request("PATCH", f"{JOBS}/c", {"priority": 50}))
    assert [j["job_id"] for j in ok(leader.get("/api/v1/printers/mk4/queue"))] == ["c", "b", "a"]

    ok(writer.request("PATCH", "/api/v1/printers/mk4", {"maintenance": True}))
    refused(writer.put(f"{JOBS}/c/status?status=Running"), 409, "printer_unavailable")
    assert ok(reader.get("/api/v1/printers/mk4"))["status"] == "maintenance"
    ok(writer.request("PATCH", "/api/v1/printers/mk4", {"maintenance": False}))
    ok(writer.put(f"{JOBS}/c/status?status=Running"))
    printer = ok(reader.get("/api/v1/printers/mk4"))
    assert (printer["status"], printer["current_job_id"], printer["queue_length"]) == ("printing", "c", 2)

    ok(writer.put(f"{JOBS}/c/progress", {"percent": 40, "used_grams": 8}))
    filament = ok(reader.get("/api/v1/filaments/pla"))
    assert (filament["remaining_weight_in_grams"], filament["reserved_weight_in_grams"]) == (92, 52)
    refused(writer.put(f"{JOBS}/c/progress", {"percent": 39}), 422, "invalid_field")
    failed = ok(writer.put(f"{JOBS}/c/status?status=Failed&reason=spaghetti&used_grams=3"))
    assert (failed["failure_reason"], failed["used_weight_in_grams"]) == ("spaghetti", 8)

    assert ok(reader.get("/api/v1/printers/mk4"))["bed_clear"] is False
    refused(writer.put(f"{JOBS}/b/status?status=Running"), 409, "bed_not_clear")
    ok(writer.post("/api/v1/printers/mk4/clear-bed"), 204)
    retry = ok(writer.post(f"{JOBS}/c/retry", {"job_id": "c2"}), 201)
    assert (retry["retry_of"], retry["priority"]) == ("c", 50)
    refused(writer.post(f"{JOBS}/c/retry", {"job_id": "c2"}), 409, "already_exists")
    refused(writer.post("/api/v1/printers/ghost/clear-bed"), 404, "not_found")

    # a ledger that chains to the spool's grams, the same on every node
    for node in nodes:
        entries = ok(node.get("/api/v1/filaments/pla/ledger"))
        remaining = reserved = 0
        for entry in entries:
            remaining += entry["remaining_delta"]
            reserved += entry["reserved_delta"]
            assert (entry["remaining_after"], entry["reserved_after"]) == (remaining, reserved)
        filament = ok(node.get("/api/v1/filaments/pla"))
        assert (remaining, reserved) == (
            filament["remaining_weight_in_grams"],
            filament["reserved_weight_in_grams"],
        )
        assert (remaining, reserved) == (92, 60)
        assert [e["kind"] for e in entries] == [
            "create",
            "reserve",
            "reserve",
            "reserve",
            "consume",
            "release",
            "reserve",
        ]
        assert filament["low_stock"] is False  # 32 g available, the threshold is 30 g
    stats = ok(reader.get("/api/v1/stats"))
    assert stats["jobs"]["Failed"] == 1 and stats["failure_reasons"]["spaghetti"] == 1
    assert stats["grams_consumed_by_type"] == {"PLA": 8}
    body = {"job_id": "d", "printer_id": "mk4", "filament_id": "pla", "print_weight_in_grams": 5}
    ok(writer.post(JOBS, body), 201)
    assert ok(reader.get("/api/v1/filaments/pla"))["low_stock"] is True  # 27 g available
