from __future__ import annotations

import pytest

from farm.commands import ClearBed, CreateFilament, CreateJob, CreatePrinter, DeletePrinter, SetJobStatus
from farm.lifecycle import STATUSES, TRANSITIONS
from farm.results import Event, Ok
from tests.farm.harness import T0_MS, Farm

# how to bring a fresh Queued job to each status
PATHS = {
    "Queued": [],
    "Running": ["Running"],
    "Paused": ["Running", "Paused"],
    "Done": ["Running", "Done"],
    "Cancelled": ["Cancelled"],
    "Failed": ["Running", "Failed"],
}
ALLOWED = {
    ("Queued", "Running"),
    ("Queued", "Cancelled"),
    ("Running", "Done"),
    ("Running", "Cancelled"),
    ("Running", "Paused"),
    ("Running", "Failed"),
    ("Paused", "Running"),
    ("Paused", "Cancelled"),
    ("Paused", "Failed"),
}


def test_the_table_in_code_is_api_md_table() -> None:
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == ALLOWED


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("target", STATUSES)
def test_every_status_change_follows_the_table(current: str, target: str) -> None:
    farm = Farm().seed()
    farm.queue("j1")
    for status in PATHS[current]:
        farm.ok(SetJobStatus("j1", status))
    if (current, target) in ALLOWED:
        assert farm.ok(SetJobStatus("j1", target))["status"] == target
    else:
        rejected = farm.refused(SetJobStatus("j1", target), "invalid_transition", "status")
        assert "j1" in rejected.detail and current in rejected.detail


def test_transition_details_say_why() -> None:
    farm = Farm().seed()
    farm.queue("j1")
    assert (
        farm.refused(SetJobStatus("j1", "Queued"), "invalid_transition").detail == "job j1 is already Queued"
    )
    farm.ok(SetJobStatus("j1", "Running"))
    assert (
        "never goes back to Queued" in farm.refused(SetJobStatus("j1", "Queued"), "invalid_transition").detail
    )
    farm.ok(SetJobStatus("j1", "Done"))
    assert "final status" in farm.refused(SetJobStatus("j1", "Running"), "invalid_transition").detail
    farm.queue("j2")
    detail = farm.refused(SetJobStatus("j2", "Paused"), "invalid_transition").detail
    assert detail == "job j2 cannot go from Queued to Paused; from Queued it can go to Running or Cancelled"


@pytest.mark.parametrize("status", ["running", "RUNNING", "Canceled", "", "Started", " Running"])
def test_unknown_or_wrong_case_status_names_are_invalid_field(status: str) -> None:
    farm = Farm().seed()
    farm.queue("j1")
    rejected = farm.refused(SetJobStatus("j1", status), "invalid_field", "status")
    assert "Queued, Running, Paused, Done, Cancelled, Failed" in rejected.detail


def test_status_of_a_missing_job_is_not_found() -> None:
    farm = Farm().seed()
    assert (
        farm.refused(SetJobStatus("nope", "Running"), "not_found", "job_id").detail
        == "job nope does not exist"
    )


def test_the_seed_walk_through() -> None:
    farm = Farm().seed(grams=100)
    job = farm.ok(CreateJob("job1", "printer1", "f1", 50, "mountain"))
    assert job == {
        "job_id": "job1",
        "printer_id": "printer1",
        "filament_id": "f1",
        "print_weight_in_grams": 50,
        "status": "Queued",
        "details": "mountain",
        "created_at": "2023-11-14T22:13:23.000Z",
        "started_at": None,
        "ended_at": None,
        "used_weight_in_grams": None,
        "priority": 0,
        "progress_percent": None,
        "failure_reason": None,
        "retry_of": None,
    }
    assert farm.filament("f1")["reserved_weight_in_grams"] == 50
    assert farm.ok(SetJobStatus("job1", "Running"))["started_at"] == "2023-11-14T22:13:24.000Z"
    done = farm.ok(SetJobStatus("job1", "Done"))
    assert (done["ended_at"], done["used_weight_in_grams"]) == ("2023-11-14T22:13:25.000Z", 50)
    spool = farm.filament("f1")
    assert (spool["remaining_weight_in_grams"], spool["reserved_weight_in_grams"]) == (50, 0)
    assert spool["available_weight_in_grams"] == 50


def test_create_job_events_carry_the_job_and_the_spool_it_reserved() -> None:
    farm = Farm().seed()
    applied = farm.propose(CreateJob("j1", "printer1", "f1", 30))
    assert isinstance(applied.outcome, Ok)
    assert [event.type for event in applied.events] == ["job.created", "filament.updated", "filament.ledger"]
    assert applied.events[0] == Event(3, "job.created", applied.outcome.value, last_of_index=False)
    assert applied.events[1].data["reserved_weight_in_grams"] == 30
    assert applied.events[2].data["kind"] == "reserve" and applied.events[2].data["reserved_delta"] == 30
    assert [event.last_of_index for event in applied.events] == [False, False, True]


def test_status_change_events_include_the_spool_only_when_grams_moved() -> None:
    farm = Farm().seed()
    farm.queue("j1", grams=30)
    printer_moves = ["job.status_changed", "printer.updated"]
    assert [e.type for e in farm.propose(SetJobStatus("j1", "Running")).events] == printer_moves
    assert [e.type for e in farm.propose(SetJobStatus("j1", "Paused")).events] == printer_moves
    events = farm.propose(SetJobStatus("j1", "Failed", used_grams=12)).events
    ledger_events = ["filament.updated", "filament.ledger", "filament.ledger"]
    assert [e.type for e in events] == [*printer_moves, *ledger_events]
    assert events[0].data["status"] == "Failed"
    assert (events[1].data["status"], events[1].data["bed_clear"]) == ("idle", False)
    assert events[2].data["remaining_weight_in_grams"] == 88
    assert [(e.data["kind"], e.data["remaining_delta"], e.data["reserved_delta"]) for e in events[3:]] == [
        ("consume", -12, -12),
        ("release", 0, -18),
    ]


def test_create_job_refusals() -> None:
    farm = Farm().seed(grams=100)
    farm.queue("j1", grams=60)
    farm.refused(CreateJob("j1", "printer1", "f1", 1), "already_exists", "job_id")
    detail = farm.refused(CreateJob("j2", "ghost", "f1", 1), "unknown_printer", "printer_id").detail
    assert detail == "printer ghost does not exist"
    farm.refused(CreateJob("j2", "printer1", "ghost", 1), "unknown_filament", "filament_id")
    rejected = farm.refused(CreateJob("j2", "printer1", "f1", 50), "insufficient_filament")
    assert (
        rejected.detail
        == "filament f1 has 40 g available (100 g remaining, 60 g reserved); the job needs 50 g"
    )
    farm.ok(CreateJob("j2", "printer1", "f1", 40))  # exactly what is available
    farm.ok(CreateJob("j3", "printer1", "f1", 0))  # a weightless job needs nothing


def test_refusals_are_checked_in_a_fixed_order() -> None:
    farm = Farm().seed()
    farm.queue("j1")
    # exists before unknown printer before unknown filament before stock
    farm.refused(CreateJob("j1", "ghost", "ghost", 10**6), "already_exists")
    farm.refused(CreateJob("j2", "ghost", "ghost", 10**6), "unknown_printer")
    farm.refused(CreateJob("j2", "printer1", "ghost", 10**6), "unknown_filament")


def test_done_consumes_the_weight_cancel_and_fail_consume_only_what_was_reported() -> None:
    farm = Farm().seed(grams=100)
    for job_id in ("a", "b", "c", "d"):
        farm.queue(job_id, grams=20)
    assert farm.filament("f1")["reserved_weight_in_grams"] == 80
    farm.ok(SetJobStatus("a", "Cancelled"))  # from Queued, nothing used
    farm.ok(SetJobStatus("b", "Running"))
    farm.ok(SetJobStatus("b", "Failed", used_grams=7))
    farm.ok(ClearBed("printer1"))
    farm.ok(SetJobStatus("c", "Running"))
    farm.ok(SetJobStatus("c", "Cancelled", used_grams=20))
    farm.ok(SetJobStatus("d", "Running"))
    farm.ok(SetJobStatus("d", "Done"))
    assert [farm.job(j)["used_weight_in_grams"] for j in "abcd"] == [0, 7, 20, 20]
    spool = farm.filament("f1")
    assert (spool["remaining_weight_in_grams"], spool["reserved_weight_in_grams"]) == (100 - 47, 0)


def test_used_grams_must_fit_the_job_and_the_status() -> None:
    farm = Farm().seed()
    farm.queue("j1", grams=20)
    farm.ok(SetJobStatus("j1", "Running"))
    detail = farm.refused(SetJobStatus("j1", "Failed", used_grams=21), "invalid_field", "used_grams").detail
    assert detail == "used_grams (21 g) exceeds job j1's print weight (20 g)"
    farm.refused(SetJobStatus("j1", "Paused", used_grams=1), "invalid_field", "used_grams")
    farm.refused(SetJobStatus("j1", "Done", used_grams=20), "invalid_field", "used_grams")
    farm.refused(SetJobStatus("j1", "Failed", used_grams=-1), "invalid_field", "used_grams")
    farm.refused(SetJobStatus("j1", "Failed", used_grams=True), "invalid_field", "used_grams")
    farm.refused(SetJobStatus("j1", "Failed", used_grams=2.0), "invalid_field", "used_grams")
    assert farm.ok(SetJobStatus("j1", "Failed", used_grams=0))["used_weight_in_grams"] == 0


def test_a_printer_runs_one_job_at_a_time() -> None:
    farm = Farm().seed()
    farm.ok(CreatePrinter("printer2", "Prusa", "MK4"))
    for job_id in ("j1", "j2"):
        farm.queue(job_id)
    farm.queue("other", printer="printer2")
    farm.ok(SetJobStatus("j1", "Running"))
    detail = farm.refused(SetJobStatus("j2", "Running"), "printer_busy").detail
    assert detail == (
        "printer printer1 is busy with job j1 (Running); "
        "a printer runs one job at a time, so job j2 cannot start"
    )
    farm.ok(SetJobStatus("other", "Running"))  # another printer is free
    farm.ok(SetJobStatus("j1", "Paused"))
    assert "job j1 (Paused)" in farm.refused(SetJobStatus("j2", "Running"), "printer_busy").detail
    farm.ok(SetJobStatus("j1", "Running"))  # resuming the paused job is not a conflict with itself
    farm.ok(SetJobStatus("j1", "Paused"))
    farm.ok(SetJobStatus("j1", "Failed"))
    farm.ok(ClearBed("printer1"))
    farm.ok(SetJobStatus("j2", "Running"))
    # a second start from Paused is refused while another job holds the printer
    farm.queue("j3")
    farm.ok(SetJobStatus("j2", "Cancelled"))
    farm.ok(SetJobStatus("j3", "Running"))
    farm.ok(SetJobStatus("j3", "Paused"))
    farm.queue("j4")
    farm.refused(SetJobStatus("j4", "Running"), "printer_busy")


def test_started_at_is_the_first_start_and_timestamps_come_from_the_proposal() -> None:
    farm = Farm().seed()
    farm.queue("j1")
    farm.propose(SetJobStatus("j1", "Running"), at_ms=T0_MS + 10_001)
    farm.propose(SetJobStatus("j1", "Paused"), at_ms=T0_MS + 20_000)
    farm.propose(SetJobStatus("j1", "Running"), at_ms=T0_MS + 30_000)
    job = farm.job("j1")
    assert (job["started_at"], job["ended_at"]) == ("2023-11-14T22:13:30.001Z", None)
    farm.propose(SetJobStatus("j1", "Done"), at_ms=0)  # a leader clock far behind is still just data
    assert farm.job("j1")["ended_at"] == "1970-01-01T00:00:00.000Z"


def test_jobs_survive_the_deletion_of_their_printer_once_terminal() -> None:
    farm = Farm().seed()
    farm.queue("j1")
    farm.ok(SetJobStatus("j1", "Cancelled"))
    farm.ok(DeletePrinter("printer1"))
    farm.refused(SetJobStatus("j1", "Running"), "invalid_transition")
    # a new printer with the old id does not inherit anything
    farm.ok(CreatePrinter("printer1", "Prusa", "XL"))
    farm.ok(CreateFilament("f2", "PLA", "Red", 10, 10))
    farm.queue("j2", filament="f2")
    farm.ok(SetJobStatus("j2", "Running"))
