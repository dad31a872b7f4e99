"""Print jobs over HTTP: creation, transitions through PUT .../status, used_grams, filters, the ledger."""

from __future__ import annotations

import pytest

from farm.commands import SetJobStatus
from farm.queries import ListJobs
from tests.httpapi.fake_bridge import problem_of
from tests.support.seed import JOB


def _status(client, job_id: str, status: str, **params):
    return client.simulate_put(f"/api/v1/print_jobs/{job_id}/status", params={"status": status, **params})


def _filament(client) -> dict:
    return client.simulate_get("/api/v1/filaments/f1").json


def test_create_without_status_or_details_is_queued(client, seeded) -> None:
    body = {k: JOB[k] for k in ("printer_id", "filament_id", "print_weight_in_grams")} | {"job_id": "job2"}
    body["print_weight_in_grams"] = 10
    result = seeded.simulate_post("/api/v1/print_jobs", json=body)
    assert result.status_code == 201
    assert result.headers["location"] == "/api/v1/print_jobs/job2"
    assert result.json["status"] == "Queued" and result.json["details"] == ""
    assert seeded.simulate_get("/api/v1/print_jobs/job2").json == result.json


@pytest.mark.parametrize(
    "path",
    [
        ["Running", "Done"],
        ["Cancelled"],
        ["Running", "Cancelled"],
        ["Running", "Paused", "Running", "Done"],
        ["Running", "Failed"],
        ["Running", "Paused", "Failed"],
        ["Running", "Paused", "Cancelled"],
    ],
)
def test_allowed_transitions_answer_200_with_the_job(seeded, path) -> None:
    for status in path:
        result = _status(seeded, "job1", status)
        assert result.status_code == 200, result.json
        assert result.json["status"] == status and result.json["job_id"] == "job1"


@pytest.mark.parametrize(
    "path,refused",
    [
        ([], "Queued"),
        ([], "Done"),
        ([], "Paused"),
        ([], "Failed"),
        (["Running"], "Running"),
        (["Running"], "Queued"),
        (["Running", "Done"], "Running"),
        (["Cancelled"], "Cancelled"),
        (["Running", "Failed"], "Paused"),
        (["Running", "Paused"], "Done"),
    ],
)
def test_refused_transitions_are_409_invalid_transition(seeded, path, refused) -> None:
    for status in path:
        assert _status(seeded, "job1", status).status_code == 200
    before = seeded.simulate_get("/api/v1/print_jobs/job1").json
    result = _status(seeded, "job1", refused)
    assert result.status_code == 409 and problem_of(result)["code"] == "invalid_transition"
    assert seeded.simulate_get("/api/v1/print_jobs/job1").json == before


def test_used_grams_is_passed_and_consumed_on_failure(seeded, bridge) -> None:
    _status(seeded, "job1", "Running")
    result = _status(seeded, "job1", "Failed", used_grams="20")
    assert result.json["used_weight_in_grams"] == 20
    assert bridge.writes[-1][0] == SetJobStatus("job1", "Failed", 20)
    filament = _filament(seeded)
    assert filament["remaining_weight_in_grams"] == 80 and filament["reserved_weight_in_grams"] == 0


def test_cancel_without_used_grams_consumes_nothing(seeded, bridge) -> None:
    result = _status(seeded, "job1", "Cancelled")
    assert result.json["used_weight_in_grams"] == 0 and result.json["ended_at"].endswith("Z")
    assert bridge.writes[-1][0] == SetJobStatus("job1", "Cancelled", None)
    assert _filament(seeded)["available_weight_in_grams"] == 100


def test_domain_refusals_map_to_their_statuses(seeded) -> None:
    def create(**changes):
        return seeded.simulate_post("/api/v1/print_jobs", json={**JOB, "job_id": "job2", **changes})

    assert (create(job_id="job1").status_code, problem_of(create(job_id="job1"))["code"]) == (
        409,
        "already_exists",
    )
    result = create(printer_id="ghost")
    assert (result.status_code, problem_of(result)["code"]) == (422, "unknown_printer")
    result = create(filament_id="ghost")
    assert (result.status_code, problem_of(result)["code"]) == (422, "unknown_filament")
    result = create(print_weight_in_grams=51)
    assert (result.status_code, problem_of(result)["code"]) == (409, "insufficient_filament")
    assert create(print_weight_in_grams=50).status_code == 201  # exactly the available weight
    assert _status(seeded, "job1", "Running").status_code == 200
    result = _status(seeded, "job2", "Running")
    assert (result.status_code, problem_of(result)["code"]) == (409, "printer_busy")
    for path in ("/api/v1/printers/printer1", "/api/v1/filaments/f1"):
        result = seeded.simulate_delete(path)
        assert (result.status_code, problem_of(result)["code"]) == (409, "in_use")


def test_job_status_of_unknown_job_is_404(client) -> None:
    result = _status(client, "ghost", "Running")
    assert (result.status_code, problem_of(result)["code"]) == (404, "not_found")


def test_list_filters_are_passed_and_applied(seeded, bridge) -> None:
    seeded.simulate_post("/api/v1/printers", json={"id": "printer2", "company": "HP", "model": "L12"})
    seeded.simulate_post(
        "/api/v1/print_jobs",
        json={**JOB, "job_id": "job2", "printer_id": "printer2", "print_weight_in_grams": 5},
    )
    _status(seeded, "job2", "Running")
    result = seeded.simulate_get("/api/v1/print_jobs", params={"status": "Running"})
    assert [j["job_id"] for j in result.json] == ["job2"] and result.headers["x-total-count"] == "1"
    result = seeded.simulate_get("/api/v1/print_jobs", params={"printer_id": "printer1", "filament_id": "f1"})
    assert [j["job_id"] for j in result.json] == ["job1"]
    result = seeded.simulate_get(
        "/api/v1/print_jobs",
        params={"filament_id": "f1", "limit": "1", "offset": "1", "consistency": "stale"},
    )
    assert [j["job_id"] for j in result.json] == ["job2"] and result.headers["x-total-count"] == "2"
    assert bridge.reads[-1] == (ListJobs(None, None, "f1", 1, 1), "stale")
