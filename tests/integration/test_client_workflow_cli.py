"""The CLI's workflow commands (queue, clear-bed, maintenance, priority, progress, fail --reason, retry,
ledger, stats) against a real 3-node cluster whose nodes serve the farm's workflow; skipped elsewhere."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.test_client_cli import as_json, ok, run
from tests.support.cluster import Cluster
from tests.support.fixtures import module_cluster

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from module_cluster(tmp_path_factory, "workflow-cli")


def test_the_workflow_commands(cluster: Cluster) -> None:
    one, two, _ = cluster.nodes
    at = f"--url={two.url}"
    ok(at, "printers", "add", "p1", "--company", "Prusa", "--model", "MK4")
    spool = as_json(at, "filaments", "add", "f1", "--type", "PLA", "--color", "Black", "--total", "1000",
                    "--low-stock", "900")  # fmt: skip
    assert spool["low_stock_threshold_in_grams"] == 900
    for job, priority in (("a", "5"), ("b", "50"), ("c", "0")):
        ok(
            at,
            "jobs",
            "add",
            job,
            "--printer",
            "p1",
            "--filament",
            "f1",
            "--weight",
            "40",
            "--priority",
            priority,
        )
    queue = as_json(at, "printers", "queue", "p1")
    assert queue == one.get("/api/v1/printers/p1/queue").json()
    assert [job["job_id"] for job in queue] == ["b", "a", "c"]
    assert as_json(at, "jobs", "priority", "c", "100")["priority"] == 100
    assert ok(at, "printers", "queue", "p1").splitlines()[1].startswith("c ")

    ok(at, "jobs", "start", "c")
    progress = as_json(at, "jobs", "progress", "c", "--percent", "40", "--used", "10")
    assert progress == one.get("/api/v1/print_jobs/c").json()
    assert (progress["progress_percent"], progress["used_weight_in_grams"]) == (40, 10)
    assert run(at, "jobs", "progress", "c").returncode == 2  # neither --percent nor --used
    assert as_json(at, "printers", "show", "p1")["status"] == "printing"
    failed = as_json(at, "jobs", "fail", "c", "--reason", "clog", "--used", "12")
    assert (failed["status"], failed["failure_reason"]) == ("Failed", "clog")

    assert as_json(at, "printers", "maintenance", "p1", "on")["maintenance"] is True
    refused = run(at, "jobs", "start", "b")
    assert refused.returncode == 1 and refused.stderr.startswith("error: 409 "), refused.stderr
    assert as_json(at, "printers", "maintenance", "p1", "off")["maintenance"] is False
    assert ok(at, "printers", "clear-bed", "p1").strip() == "bed of p1 is clear"
    assert one.get("/api/v1/printers/p1").json()["bed_clear"] is True

    retry = as_json(at, "jobs", "retry", "c", "c2")
    assert (retry["job_id"], retry["retry_of"], retry["status"]) == ("c2", "c", "Queued")
    assert run(at, "jobs", "retry", "a", "a2").stderr.startswith("error: 409 ")  # a is Queued

    ledger = as_json(at, "filaments", "ledger", "f1")
    assert ledger == one.get("/api/v1/filaments/f1/ledger").json()
    assert ledger[0]["kind"] == "create" and {"reserve", "consume", "release"} <= {e["kind"] for e in ledger}
    assert as_json(at, "filaments", "ledger", "f1", "--limit", "2", "--offset", "1") == ledger[1:3]
    table = ok(at, "filaments", "ledger", "f1").splitlines()
    assert table[0].split()[:4] == ["INDEX", "AT", "KIND", "JOB"] and len(table) == len(ledger) + 1
    assert as_json(at, "filaments", "show", "f1")["low_stock"] is True

    stats = as_json(at, "stats")
    assert stats == one.get("/api/v1/stats").json() and stats["failure_reasons"]["clog"] == 1
    human = ok(at, "stats")
    assert "jobs:" in human and "failure_reasons:" in human and "clog" in human
