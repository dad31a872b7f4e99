"""Idempotency-Key: passed to the bridge with every write; a retry answers the first result, applied once."""

from __future__ import annotations

from farm.commands import CreatePrinter, DeletePrinter, SetJobStatus, UpdatePrinter
from tests.support.seed import PRINTER, PRINTER_WORKFLOW


def test_every_write_passes_its_key_to_the_bridge(seeded, bridge) -> None:
    bridge.writes.clear()
    key = {"Idempotency-Key": "k" * 128}
    seeded.simulate_post("/api/v1/printers", json={**PRINTER, "id": "p2"}, headers=key)
    seeded.simulate_patch("/api/v1/printers/p2", json={"model": "m"}, headers={"Idempotency-Key": "b"})
    seeded.simulate_put("/api/v1/print_jobs/job1/status?status=Running", headers={"Idempotency-Key": "c"})
    seeded.simulate_delete("/api/v1/printers/p2", headers={"Idempotency-Key": "d"})
    seeded.simulate_delete("/api/v1/printers/p3")
    assert bridge.writes == [
        (CreatePrinter("p2", "HP", "L12"), "k" * 128),
        (UpdatePrinter("p2", None, "m"), "b"),
        (SetJobStatus("job1", "Running", None), "c"),
        (DeletePrinter("p2"), "d"),
        (DeletePrinter("p3"), None),
    ]


def test_a_retried_create_answers_the_first_result_and_applies_once(client, bridge) -> None:
    headers = {"Idempotency-Key": "create-p1"}
    first = client.simulate_post("/api/v1/printers", json=PRINTER, headers=headers)
    again = client.simulate_post("/api/v1/printers", json=PRINTER, headers=headers)
    assert (
        (first.status_code, first.json)
        == (again.status_code, again.json)
        == (201, {**PRINTER, **PRINTER_WORKFLOW})
    )
    assert [e.type for e in bridge.published] == ["printer.created"]
    unkeyed = client.simulate_post("/api/v1/printers", json=PRINTER)
    assert unkeyed.status_code == 409


def test_a_retried_transition_answers_the_first_job(seeded) -> None:
    headers = {"Idempotency-Key": "start-job1"}
    first = seeded.simulate_put("/api/v1/print_jobs/job1/status?status=Running", headers=headers)
    again = seeded.simulate_put("/api/v1/print_jobs/job1/status?status=Running", headers=headers)
    assert first.status_code == again.status_code == 200 and first.json == again.json
    refused = seeded.simulate_put("/api/v1/print_jobs/job1/status?status=Running")
    assert refused.status_code == 409
