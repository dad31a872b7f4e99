"""Printer connections end to end: a real 3-node cluster and a real OctoPrint 1.11 with its virtual printer.

Dispatch, progress, Done with the spool's grams, the bed-clear gate and the next job after clear-bed,
pause/resume/cancel from either side, a wrong key, a missing file, an unreachable OctoPrint going offline and
back, and kill -9 of the leader mid-print (the job ends Done once, OctoPrint printed the file once).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cluster import Cluster, Node, wait_for
from tests.support.octoprint import OctoPrint, make_gcode, require, running_octoprint, wait_state

pytestmark = pytest.mark.integration

SHORT = make_gcode(layers=10, extrude_per_move=100.0, feedrate=6000)  # ~4 s, 4000 mm: 12 g of PLA
LONG = make_gcode(layers=60, extrude_per_move=10.0, dwell_ms=400, feedrate=6000)  # ~30 s


@pytest.fixture
def octoprint(tmp_path: Path) -> Iterator[OctoPrint]:
    require()
    with running_octoprint(tmp_path) as server:
        yield server


def patch(node: Node, path: str, body: Any) -> Any:
    return node.request("PATCH", path, body)


def printer(node: Node, printer_id: str = "p1") -> dict[str, Any]:
    reply = node.get(f"/api/v1/printers/{printer_id}", timeout=6)
    assert reply.status == 200, (reply.status, reply.body)
    return reply.json()


def job(node: Node, job_id: str) -> dict[str, Any]:
    reply = node.get(f"/api/v1/print_jobs/{job_id}", timeout=6)
    assert reply.status == 200, (reply.status, reply.body)
    return reply.json()


def job_where(node: Node, job_id: str, what: str, timeout: float = 30, **expected: Any) -> dict[str, Any]:
    def matches() -> dict[str, Any] | None:
        current = job(node, job_id)
        return current if all(current[k] == v for k, v in expected.items()) else None

    return wait_for(matches, timeout, 0.1, f"job {job_id} {what} {expected}")


def printer_where(node: Node, what: str, timeout: float = 30, **expected: Any) -> dict[str, Any]:
    def matches() -> dict[str, Any] | None:
        current = printer(node)
        return current if all(current[k] == v for k, v in expected.items()) else None

    return wait_for(matches, timeout, 0.1, f"printer {what} {expected}")


def follows(node: Node, printer_id: str = "p1") -> bool:
    """Whether `node` runs a connection for the printer (its per-connection metrics exist)."""
    return f'printfarm_octoprint_polls_total{{node_id="{node.node_id}",printer_id="{printer_id}"}}' in (
        node.get("/metrics").text
    )


def setup_farm(cluster: Cluster, server: OctoPrint, key: str | None = None) -> Node:
    leader = cluster.bootstrap()
    reply = leader.post(
        "/api/v1/filaments",
        {
            "id": "f1",
            "type": "PLA",
            "color": "Red",
            "total_weight_in_grams": 1000,
            "remaining_weight_in_grams": 1000,
        },
    )
    assert reply.status == 201, reply.body
    connection = {"kind": "octoprint", "url": server.url, "api_key": key or server.api_key}
    reply = leader.post(
        "/api/v1/printers", {"id": "p1", "company": "Prusa", "model": "MK4", "connection": connection}
    )
    assert reply.status == 201, reply.body
    assert reply.json()["connection"] == {"kind": "octoprint", "url": server.url, "api_key": "***"}
    return leader


def queue(node: Node, job_id: str, file: str, grams: int = 20) -> None:
    body = {
        "job_id": job_id,
        "printer_id": "p1",
        "filament_id": "f1",
        "print_weight_in_grams": grams,
        "file": file,
    }
    reply = node.post("/api/v1/print_jobs", body)
    assert reply.status == 201, reply.body


def seen_printing(node: Node, job_id: str) -> None:
    """Until the connection has seen the print move on (its progress went up): a person presses pause on
    the printer seconds after a resume, not within the same poll."""
    before = job(node, job_id)["progress_percent"] or 0
    wait_for(lambda: (job(node, job_id)["progress_percent"] or 0) > before, 30, 0.1, "the print to move on")


def put_status(node: Node, job_id: str, status: str) -> None:
    reply = node.put(f"/api/v1/print_jobs/{job_id}/status?status={status}")
    assert reply.status == 200, (reply.status, reply.body)


def test_dispatch_progress_done_and_the_bed_clear_gate(
    cluster_factory: Callable[..., Cluster], octoprint: OctoPrint
) -> None:
    server = octoprint
    server.upload("short.gcode", SHORT)
    server.upload("long.gcode", LONG)
    cluster = cluster_factory(3)
    leader = setup_farm(cluster, server)
    follower = next(node for node in cluster.nodes if node is not leader)
    printer_where(follower, "connected", connection_state="connected", status="idle")

    # dispatch: the queue head with a file starts, OctoPrint prints it, progress and grams come back
    queue(follower, "j1", "short.gcode")
    job_where(leader, "j1", "runs", status="Running")
    assert printer(leader)["status"] == "printing"
    seen = wait_for(
        lambda: (j := job(leader, "j1"))["progress_percent"] and j["progress_percent"] > 0 and j,
        30,
        0.05,
        "progress",
    )
    assert 0 < seen["progress_percent"] <= 100
    wait_for(lambda: server.prints("short.gcode")["success"] == 1, 60, 0.05, "OctoPrint to finish")
    finished_at = time.monotonic()
    done = job_where(leader, "j1", "is done", status="Done")
    print(f"\nOctoPrint finished -> job Done seen: {time.monotonic() - finished_at:.2f} s")
    assert done["used_weight_in_grams"] == 20 and done["progress_percent"] == 100
    spool = leader.get("/api/v1/filaments/f1").json()
    assert (spool["remaining_weight_in_grams"], spool["reserved_weight_in_grams"]) == (980, 0)
    assert server.prints("short.gcode") == {"success": 1, "failure": 0}

    # the bed-clear gate: the next job waits for clear-bed, then starts by itself
    assert printer(leader)["bed_clear"] is False
    queue(leader, "j2", "long.gcode")
    for _ in range(3):  # three of the connection's polls later it is still waiting
        time.sleep(1.0)
        assert job(leader, "j2")["status"] == "Queued"
    assert server.state() == "Operational"
    reply = leader.post("/api/v1/printers/p1/clear-bed")
    assert reply.status == 204, (reply.status, reply.body)
    job_where(leader, "j2", "runs", status="Running")
    wait_state(server, {"Printing"})
    assert server.prints("long.gcode") == {"success": 0, "failure": 0}


def test_pause_resume_cancel_both_ways_and_a_missing_file(
    cluster_factory: Callable[..., Cluster], octoprint: OctoPrint
) -> None:
    server = octoprint
    server.upload("long.gcode", LONG)
    cluster = cluster_factory(3)
    leader = setup_farm(cluster, server)
    follower = next(node for node in cluster.nodes if node is not leader)
    queue(leader, "j2", "long.gcode")
    job_where(leader, "j2", "runs", status="Running")
    wait_state(server, {"Printing"})

    # operator pause / resume go to OctoPrint
    put_status(follower, "j2", "Paused")
    wait_state(server, {"Paused"})
    put_status(follower, "j2", "Running")
    wait_state(server, {"Printing"})
    seen_printing(leader, "j2")
    # pause / resume pressed on the printer come back
    assert server.pause().status == 204
    job_where(leader, "j2", "follows the printer's pause", status="Paused")
    assert printer(leader)["status"] == "paused"
    wait_state(server, {"Paused"})  # OctoPrint ignores a resume while it is still Pausing
    assert server.pause("resume").status == 204
    job_where(leader, "j2", "follows the printer's resume", status="Running")
    # an operator cancel goes to OctoPrint
    put_status(leader, "j2", "Cancelled")
    wait_for(lambda: server.prints("long.gcode")["failure"] == 1, 30, 0.1, "OctoPrint to cancel")
    wait_state(server, {"Operational"})  # from Cancelling

    # a cancel on the printer comes back (a cancelled print leaves the bed clear)
    queue(leader, "j3", "long.gcode")
    job_where(leader, "j3", "runs", status="Running")
    wait_state(server, {"Printing"})
    assert server.cancel().status == 204
    cancelled = job_where(leader, "j3", "is cancelled", status="Cancelled")
    assert cancelled["used_weight_in_grams"] is not None
    assert server.prints("long.gcode") == {"success": 0, "failure": 2}

    # a file OctoPrint does not have: Failed printer_error, with why
    queue(leader, "j4", "missing.gcode")
    failed = job_where(leader, "j4", "fails", status="Failed")
    assert failed["failure_reason"] == "printer_error" and "missing.gcode" in failed["failure_detail"]

    # the metrics of the connection are on the leader
    metrics = leader.get("/metrics").text
    polls = re.search(r'printfarm_octoprint_polls_total\{node_id="[^"]+",printer_id="p1"\} (\d+)', metrics)
    assert polls is not None and int(polls.group(1)) > 5
    # no log line, metric, status or read anywhere carries the key
    assert server.api_key not in metrics
    for node in cluster.nodes:
        assert server.api_key not in node.log_text()
        for path in ("/raft/status", "/api/v1/printers", "/api/v1/print_jobs", "/api/v1/stats"):
            assert server.api_key not in node.get(path).text, path


def test_a_wrong_key_is_unauthorized_and_a_dead_octoprint_goes_offline_and_back(
    cluster_factory: Callable[..., Cluster], octoprint: OctoPrint
) -> None:
    server = octoprint
    cluster = cluster_factory(3)
    leader = setup_farm(cluster, server, key="not-the-key")
    printer_where(leader, "refused", connection_state="unauthorized", status="offline")
    reply = patch(
        leader,
        "/api/v1/printers/p1",
        {"connection": {"kind": "octoprint", "url": server.url, "api_key": server.api_key}},
    )
    assert reply.status == 200 and reply.json()["connection"]["api_key"] == "***"
    printer_where(leader, "connected", connection_state="connected", status="idle")

    server.stop()
    stopped_at = time.monotonic()
    printer_where(leader, "offline", connection_state="unreachable", status="offline")
    print(f"\nOctoPrint stopped -> printer offline: {time.monotonic() - stopped_at:.2f} s")
    server.start()
    server.wait_operational()
    printer_where(leader, "back", 30, connection_state="connected", status="idle")

    # the connection moves with leadership: the old leader stops following, the new one follows
    other = next(node for node in cluster.nodes if node is not leader)
    assert leader.post(f"/raft/transfer-leadership?to={other.node_id}").status == 200
    wait_for(lambda: follows(other), 20, 0.1, f"{other.node_id} to follow the printer")
    wait_for(lambda: not follows(leader), 20, 0.1, f"{leader.node_id} to stop following it")
    leader = other

    reply = patch(leader, "/api/v1/printers/p1", {"connection": None})
    assert reply.status == 200
    assert (reply.json()["connection"], reply.json()["connection_state"]) == (None, None)
    wait_for(lambda: not follows(leader), 20, 0.1, "the removed connection to stop")
    bad = patch(
        leader, "/api/v1/printers/p1", {"connection": {"kind": "octoprint", "url": "ftp://x", "api_key": "k"}}
    )
    assert bad.status == 422 and bad.json()["code"] == "invalid_field"


def test_kill_9_of_the_leader_mid_print_ends_the_job_done_once_and_prints_once(
    cluster_factory: Callable[..., Cluster], octoprint: OctoPrint
) -> None:
    server = octoprint
    server.upload("long.gcode", make_gcode(layers=40, extrude_per_move=10.0, dwell_ms=300, feedrate=6000))
    cluster = cluster_factory(3)
    leader = setup_farm(cluster, server)
    queue(leader, "j1", "long.gcode")
    started = job_where(leader, "j1", "runs", status="Running")
    wait_for(lambda: (job(leader, "j1")["progress_percent"] or 0) >= 5, 60, 0.1, "some progress")

    leader.kill()
    killed_at = time.monotonic()
    new = cluster.leader(timeout=30, exclude=[leader.node_id])
    before = job(new, "j1")["progress_percent"]
    wait_for(lambda: (job(new, "j1")["progress_percent"] or 0) > before, 60, 0.1, "progress to resume")
    print(
        f"\nleader kill -9 -> connection resumed (progress moves again): {time.monotonic() - killed_at:.2f} s"
    )
    done = job_where(new, "j1", "is done", 120, status="Done")
    assert done["started_at"] == started["started_at"]
    assert server.prints("long.gcode") == {"success": 1, "failure": 0}
    spool = new.get("/api/v1/filaments/f1").json()
    assert spool["remaining_weight_in_grams"] == 980
    ledger = new.get("/api/v1/filaments/f1/ledger")
    assert ledger.status == 200
    consumed = -sum(e["remaining_delta"] for e in ledger.json() if e["kind"] == "consume")
    assert consumed == 20  # every gram once: what progress reported, then the rest at Done
