"""The farm's workflow over HTTP against the fake bridge: every new route, field and refusal."""

from __future__ import annotations

import pytest

from tests.httpapi.fake_bridge import problem_of

JOBS = "/api/v1/print_jobs"


def _status(client, job_id: str, status: str, **params):
    return client.simulate_put(f"{JOBS}/{job_id}/status", params={"status": status, **params})


def _job(client, job_id: str, priority: int | None = None, grams: int = 5):
    body = {"job_id": job_id, "printer_id": "printer1", "filament_id": "f1", "print_weight_in_grams": grams}
    if priority is not None:
        body["priority"] = priority
    return client.simulate_post(JOBS, json=body)


def _refused(result, status: int, code: str, field: str | None = None) -> dict:
    problem = problem_of(result)
    assert (result.status_code, problem["code"]) == (status, code), problem
    if field is not None:
        assert problem["field"] == field, problem
    return problem


def test_printer_shows_status_queue_and_bed_and_patches_maintenance(seeded) -> None:
    printer = seeded.simulate_get("/api/v1/printers/printer1").json
    assert (printer["status"], printer["current_job_id"], printer["queue_length"]) == ("idle", None, 1)
    assert (printer["maintenance"], printer["bed_clear"]) == (False, True)
    patched = seeded.simulate_patch("/api/v1/printers/printer1", json={"maintenance": True})
    assert patched.status_code == 200 and patched.json["status"] == "maintenance"
    _refused(_status(seeded, "job1", "Running"), 409, "printer_unavailable")
    _refused(
        seeded.simulate_patch("/api/v1/printers/printer1", json={"maintenance": "no"}),
        422,
        "invalid_field",
        "maintenance",
    )
    seeded.simulate_patch("/api/v1/printers/printer1", json={"maintenance": False})
    assert _status(seeded, "job1", "Running").status_code == 200
    printer = seeded.simulate_get("/api/v1/printers/printer1").json
    assert (printer["status"], printer["current_job_id"], printer["queue_length"]) == ("printing", "job1", 0)


def test_clear_bed_gates_the_next_job(seeded, bridge) -> None:
    _status(seeded, "job1", "Running")
    _status(seeded, "job1", "Done")
    assert _job(seeded, "job2").status_code == 201
    assert seeded.simulate_get("/api/v1/printers/printer1").json["bed_clear"] is False
    _refused(_status(seeded, "job2", "Running"), 409, "bed_not_clear")
    cleared = seeded.simulate_post("/api/v1/printers/printer1/clear-bed")
    assert (cleared.status_code, cleared.content) == (204, b"")
    assert _status(seeded, "job2", "Running").status_code == 200
    writes = len(bridge.writes)
    _refused(seeded.simulate_post("/api/v1/printers/ghost/clear-bed"), 404, "not_found")
    _refused(seeded.simulate_post("/api/v1/printers/" + "x" * 129 + "/clear-bed"), 404, "not_found")
    assert len(bridge.writes) == writes + 1  # the unknown printer was asked, the impossible id was not


def test_queue_in_run_order_and_priority_patch(seeded) -> None:
    assert _job(seeded, "low", priority=-5).status_code == 201
    assert _job(seeded, "high", priority=9).json["priority"] == 9
    queue = seeded.simulate_get("/api/v1/printers/printer1/queue")
    assert [j["job_id"] for j in queue.json] == ["high", "job1", "low"]
    assert queue.headers["x-total-count"] == "3"
    patched = seeded.simulate_patch(f"{JOBS}/low", json={"priority": 100, "details": "urgent"})
    assert (patched.status_code, patched.json["priority"], patched.json["details"]) == (200, 100, "urgent")
    paged = seeded.simulate_get("/api/v1/printers/printer1/queue", params={"limit": "1"})
    assert [j["job_id"] for j in paged.json] == ["low"] and paged.headers["x-total-count"] == "3"
    _refused(seeded.simulate_get("/api/v1/printers/ghost/queue"), 404, "not_found")


@pytest.mark.parametrize("priority", [101, -101, 2.5, True, "1", None])
def test_priority_must_be_an_integer_in_range(seeded, bridge, priority) -> None:
    writes = len(bridge.writes)
    _refused(
        _job(seeded, "j9", priority=priority)
        if priority is not None
        else seeded.simulate_post(
            JOBS,
            json={
                "job_id": "j9",
                "printer_id": "printer1",
                "filament_id": "f1",
                "print_weight_in_grams": 1,
                "priority": None,
            },
        ),
        422,
        "invalid_field",
        "priority",
    )
    _refused(
        seeded.simulate_patch(f"{JOBS}/job1", json={"priority": priority}), 422, "invalid_field", "priority"
    )
    assert len(bridge.writes) == writes  # refused before anything was proposed


def test_patch_priority_of_a_job_that_is_not_queued_is_not_queued(seeded) -> None:
    _status(seeded, "job1", "Running")
    _refused(seeded.simulate_patch(f"{JOBS}/job1", json={"priority": 3}), 409, "not_queued", "priority")
    assert seeded.simulate_patch(f"{JOBS}/job1", json={"details": "ok"}).json["details"] == "ok"
    _refused(seeded.simulate_patch(f"{JOBS}/ghost", json={"details": "x"}), 404, "not_found")


def test_progress_consumes_as_it_happens(seeded) -> None:
    assert seeded.simulate_get(f"{JOBS}/job1").json["progress_percent"] is None
    _refused(seeded.simulate_put(f"{JOBS}/job1/progress", json={"percent": 5}), 409, "invalid_transition")
    _status(seeded, "job1", "Running")
    result = seeded.simulate_put(f"{JOBS}/job1/progress", json={"percent": 30, "used_grams": 12})
    assert (result.status_code, result.json["progress_percent"], result.json["used_weight_in_grams"]) == (
        200,
        30,
        12,
    )
    spool = seeded.simulate_get("/api/v1/filaments/f1").json
    assert (spool["remaining_weight_in_grams"], spool["reserved_weight_in_grams"]) == (88, 38)
    _status(seeded, "job1", "Cancelled", used_grams="5")  # the larger report (12) counts
    spool = seeded.simulate_get("/api/v1/filaments/f1").json
    assert (spool["remaining_weight_in_grams"], spool["reserved_weight_in_grams"]) == (88, 0)


@pytest.mark.parametrize(
    "body,field",
    [
        ({}, "percent"),
        ({"percent": 101}, "percent"),
        ({"percent": -1}, "percent"),
        ({"percent": 1.5}, "percent"),
        ({"percent": "5"}, "percent"),
        ({"used_grams": -1}, "used_grams"),
        ({"used_grams": True}, "used_grams"),
        ({"percent": 5, "used_grams": None}, "used_grams"),
    ],
)
def test_progress_bodies_that_are_wrong_in_shape(seeded, bridge, body, field) -> None:
    _status(seeded, "job1", "Running")
    writes = len(bridge.writes)
    _refused(seeded.simulate_put(f"{JOBS}/job1/progress", json=body), 422, "invalid_field", field)
    assert len(bridge.writes) == writes


def test_progress_never_goes_down_nor_over_the_weight(seeded) -> None:
    _status(seeded, "job1", "Running")
    seeded.simulate_put(f"{JOBS}/job1/progress", json={"percent": 50, "used_grams": 10})
    _refused(
        seeded.simulate_put(f"{JOBS}/job1/progress", json={"percent": 40}), 422, "invalid_field", "percent"
    )
    _refused(
        seeded.simulate_put(f"{JOBS}/job1/progress", json={"used_grams": 9}),
        422,
        "invalid_field",
        "used_grams",
    )
    _refused(
        seeded.simulate_put(f"{JOBS}/job1/progress", json={"used_grams": 51}),
        422,
        "invalid_field",
        "used_grams",
    )
    _refused(seeded.simulate_put(f"{JOBS}/ghost/progress", json={"percent": 1}), 404, "not_found")


def test_failed_with_a_reason_and_the_reason_refusals(seeded, bridge) -> None:
    _status(seeded, "job1", "Running")
    writes = len(bridge.writes)
    _refused(_status(seeded, "job1", "Failed", reason="gremlins"), 422, "invalid_field", "reason")
    _refused(_status(seeded, "job1", "Paused", reason="clog"), 422, "invalid_field", "reason")
    _refused(
        seeded.simulate_put(f"{JOBS}/job1/status", query_string="status=Failed&reason=clog&reason=runout"),
        422,
        "invalid_field",
        "reason",
    )
    assert len(bridge.writes) == writes
    failed = _status(seeded, "job1", "Failed", reason="runout", used_grams="7")
    assert (failed.json["failure_reason"], failed.json["used_weight_in_grams"]) == ("runout", 7)


def test_retry(seeded) -> None:
    _refused(seeded.simulate_post(f"{JOBS}/job1/retry", json={"job_id": "job2"}), 409, "invalid_transition")
    _status(seeded, "job1", "Cancelled")
    retried = seeded.simulate_post(f"{JOBS}/job1/retry", json={"job_id": "job2"})
    assert (retried.status_code, retried.headers["location"]) == (201, f"{JOBS}/job2")
    assert (retried.json["retry_of"], retried.json["status"], retried.json["details"]) == (
        "job1",
        "Queued",
        "mountain",
    )
    _refused(
        seeded.simulate_post(f"{JOBS}/job1/retry", json={"job_id": "job2"}), 409, "already_exists", "job_id"
    )
    _refused(seeded.simulate_post(f"{JOBS}/job1/retry", json={}), 422, "invalid_field", "job_id")
    _refused(seeded.simulate_post(f"{JOBS}/job1/retry", json={"job_id": ""}), 422, "invalid_field", "job_id")
    _refused(seeded.simulate_post(f"{JOBS}/ghost/retry", json={"job_id": "job3"}), 404, "not_found")


def test_ledger_is_paged_with_a_total(seeded) -> None:
    _status(seeded, "job1", "Running")
    _status(seeded, "job1", "Done")
    entries = seeded.simulate_get("/api/v1/filaments/f1/ledger")
    assert entries.headers["x-total-count"] == "3"
    assert [(e["kind"], e["remaining_after"], e["reserved_after"]) for e in entries.json] == [
        ("create", 100, 0),
        ("reserve", 100, 50),
        ("consume", 50, 0),
    ]
    assert set(entries.json[0]) == {
        "index",
        "at",
        "kind",
        "job_id",
        "remaining_delta",
        "reserved_delta",
        "remaining_after",
        "reserved_after",
    }
    page = seeded.simulate_get("/api/v1/filaments/f1/ledger", params={"offset": "2", "limit": "5"})
    assert [e["kind"] for e in page.json] == ["consume"] and page.headers["x-total-count"] == "3"
    _refused(seeded.simulate_get("/api/v1/filaments/ghost/ledger"), 404, "not_found")
    _refused(seeded.simulate_get("/api/v1/filaments/f1/ledger", params={"limit": "-1"}), 422, "invalid_field")


def test_low_stock_threshold(seeded, bridge) -> None:
    patched = seeded.simulate_patch("/api/v1/filaments/f1", json={"low_stock_threshold_in_grams": 60})
    assert (patched.json["low_stock_threshold_in_grams"], patched.json["low_stock"]) == (60, True)
    assert bridge.published[-1].type == "filament.low_stock"
    writes = len(bridge.writes)
    _refused(
        seeded.simulate_patch("/api/v1/filaments/f1", json={"low_stock_threshold_in_grams": -1}),
        422,
        "invalid_field",
        "low_stock_threshold_in_grams",
    )
    body = {
        "id": "f2",
        "type": "PLA",
        "color": "Red",
        "total_weight_in_grams": 5,
        "remaining_weight_in_grams": 5,
        "low_stock_threshold_in_grams": 1.5,
    }
    _refused(
        seeded.simulate_post("/api/v1/filaments", json=body),
        422,
        "invalid_field",
        "low_stock_threshold_in_grams",
    )
    assert len(bridge.writes) == writes


def test_stats(seeded) -> None:
    _status(seeded, "job1", "Running")
    _status(seeded, "job1", "Failed", reason="clog", used_grams="4")
    stats = seeded.simulate_get("/api/v1/stats")
    assert stats.status_code == 200
    assert stats.json["jobs"]["Failed"] == 1 and stats.json["failure_reasons"]["clog"] == 1
    assert (stats.json["grams_consumed"], stats.json["grams_consumed_by_type"]) == (4, {"PVC": 4})
    assert stats.json["printers"]["idle"] == 1
    _refused(seeded.simulate_get("/api/v1/stats", params={"consistency": "eventual"}), 422, "invalid_field")


def test_every_new_change_publishes_events(seeded, bridge) -> None:
    start = len(bridge.published)
    _status(seeded, "job1", "Running")
    seeded.simulate_put(f"{JOBS}/job1/progress", json={"percent": 10, "used_grams": 1})
    seeded.simulate_patch(f"{JOBS}/job1", json={"details": "d"})
    _status(seeded, "job1", "Done")
    seeded.simulate_post("/api/v1/printers/printer1/clear-bed")
    assert [e.type for e in bridge.published[start:]] == [
        "job.status_changed",
        "printer.updated",
        "job.progress",
        "filament.updated",
        "filament.ledger",
        "job.updated",
        "job.status_changed",
        "printer.updated",
        "filament.updated",
        "filament.ledger",
        "printer.updated",
    ]


def test_the_openapi_document_covers_the_workflow(client) -> None:
    document = client.simulate_get("/openapi.json").json
    for path in (
        "/api/v1/printers/{printer_id}/queue",
        "/api/v1/printers/{printer_id}/clear-bed",
        "/api/v1/print_jobs/{job_id}/progress",
        "/api/v1/print_jobs/{job_id}/retry",
        "/api/v1/filaments/{filament_id}/ledger",
        "/api/v1/stats",
    ):
        assert path in document["paths"]
    assert "patch" in document["paths"]["/api/v1/print_jobs/{job_id}"]
    schemas = document["components"]["schemas"]
    assert {"status", "current_job_id", "queue_length", "maintenance", "bed_clear"} <= set(
        schemas["Printer"]["required"]
    )
    assert {"priority", "progress_percent", "failure_reason", "retry_of"} <= set(schemas["Job"]["required"])
    assert {"low_stock_threshold_in_grams", "low_stock"} <= set(schemas["Filament"]["required"])
    assert "filament.ledger" in schemas["Event"]["properties"]["type"]["description"]
