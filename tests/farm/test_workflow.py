"""The farm's workflow (API.md, "The farm's workflow"): every rule and every refusal, one at a time."""

from __future__ import annotations

import io

import msgpack
import pytest

from farm.codec import decode_command, encode_command
from farm.commands import (
    ClearBed,
    CreateFilament,
    CreateJob,
    CreatePrinter,
    ReportProgress,
    RetryJob,
    SetJobStatus,
    UpdateFilament,
    UpdateJob,
    UpdatePrinter,
)
from farm.queries import GetLedger, GetPrinter, GetPrinterQueue, GetStats
from farm.records import Printer
from farm.results import Ok
from farm.snapshot import SnapshotError
from farm.state import FarmState
from tests.farm.harness import Farm


def printer(farm: Farm, printer_id: str = "printer1") -> dict:
    outcome = farm.ask(GetPrinter(printer_id))
    assert isinstance(outcome, Ok)
    return outcome.value


def queue(farm: Farm, printer_id: str = "printer1") -> list[str]:
    return [job["job_id"] for job in farm.ask(GetPrinterQueue(printer_id)).value.items]


def ledger(farm: Farm, filament_id: str = "f1") -> list[tuple]:
    items = farm.ask(GetLedger(filament_id)).value.items
    return [(e["kind"], e["job_id"], e["remaining_delta"], e["reserved_delta"]) for e in items]


def grams(farm: Farm, filament_id: str = "f1") -> tuple[int, int]:
    spool = farm.filament(filament_id)
    return spool["remaining_weight_in_grams"], spool["reserved_weight_in_grams"]


def running(farm: Farm, job_id: str = "j1", grams_: int = 10) -> None:
    farm.queue(job_id, grams=grams_)
    farm.ok(SetJobStatus(job_id, "Running"))


# --- printers: status, current job, queue length, maintenance, bed ------------------------------------------


def test_a_printer_status_is_derived_in_api_md_order() -> None:
    record = Printer("p", "HP", "L12")
    assert record.status == "idle"
    record.reported_state = "offline"
    assert record.status == "offline"
    record.reported_state = "error"
    assert record.status == "error"
    record.maintenance = True
    assert record.status == "maintenance"  # maintenance before a reported state


def test_printer_follows_its_job_printing_paused_idle() -> None:
    farm = Farm().seed()
    farm.queue("j1")
    assert (printer(farm)["status"], printer(farm)["queue_length"]) == ("idle", 1)
    farm.ok(SetJobStatus("j1", "Running"))
    assert (printer(farm)["status"], printer(farm)["current_job_id"], printer(farm)["queue_length"]) == (
        "printing",
        "j1",
        0,
    )
    farm.ok(SetJobStatus("j1", "Paused"))
    assert (printer(farm)["status"], printer(farm)["current_job_id"]) == ("paused", "j1")
    farm.ok(UpdatePrinter("printer1", maintenance=True))
    assert printer(farm)["status"] == "paused"  # a job it holds says more than maintenance
    farm.ok(SetJobStatus("j1", "Running"))  # resuming is not starting: maintenance does not stop it
    farm.ok(SetJobStatus("j1", "Done"))
    assert (printer(farm)["status"], printer(farm)["current_job_id"]) == ("maintenance", None)


def test_a_printer_in_maintenance_starts_no_job() -> None:
    farm = Farm().seed()
    farm.queue("j1")
    applied = farm.propose(UpdatePrinter("printer1", maintenance=True))
    assert [e.type for e in applied.events] == ["printer.updated"]
    assert applied.outcome.value["maintenance"] is True
    detail = farm.refused(SetJobStatus("j1", "Running"), "printer_unavailable").detail
    assert "maintenance" in detail and "j1" in detail
    farm.ok(UpdatePrinter("printer1", maintenance=False))
    farm.ok(SetJobStatus("j1", "Running"))


def test_maintenance_must_be_a_boolean() -> None:
    farm = Farm().seed()
    farm.refused(UpdatePrinter("printer1", maintenance=1), "invalid_field", "maintenance")
    farm.refused(UpdatePrinter("printer1", maintenance="yes"), "invalid_field", "maintenance")


@pytest.mark.parametrize("ending,dirty", [("Done", True), ("Failed", True), ("Cancelled", False)])
def test_the_bed_is_not_clear_after_done_or_failed(ending: str, dirty: bool) -> None:
    farm = Farm().seed()
    running(farm)
    farm.queue("j2")
    farm.ok(SetJobStatus("j1", ending))
    assert printer(farm)["bed_clear"] is not dirty
    if dirty:
        detail = farm.refused(SetJobStatus("j2", "Running"), "bed_not_clear").detail
        assert "clear-bed" in detail
        applied = farm.propose(ClearBed("printer1"))
        assert applied.outcome == Ok(None) and [e.type for e in applied.events] == ["printer.updated"]
    farm.ok(SetJobStatus("j2", "Running"))


def test_clear_bed_of_a_clear_bed_changes_nothing_and_of_an_unknown_printer_is_not_found() -> None:
    farm = Farm().seed()
    assert farm.propose(ClearBed("printer1")).events == ()
    farm.refused(ClearBed("ghost"), "not_found", "printer_id")


def test_busy_is_checked_before_the_bed_and_maintenance() -> None:
    farm = Farm().seed()
    running(farm)
    farm.queue("j2")
    farm.ok(UpdatePrinter("printer1", maintenance=True))
    farm.refused(SetJobStatus("j2", "Running"), "printer_busy")


# --- priority and the queue ---------------------------------------------------------------------------------


def test_the_queue_runs_by_priority_then_oldest_first() -> None:
    farm = Farm().seed(grams=1000)
    for job_id, priority in (("a", 0), ("b", 5), ("c", 0), ("d", -3), ("e", 5)):
        farm.ok(CreateJob(job_id, "printer1", "f1", 1, "", priority))
    assert queue(farm) == ["b", "e", "a", "c", "d"]
    assert farm.ok(UpdateJob("d", priority=100))["priority"] == 100
    assert queue(farm) == ["d", "b", "e", "a", "c"]
    farm.ok(SetJobStatus("d", "Running"))
    farm.ok(SetJobStatus("a", "Cancelled"))
    assert queue(farm) == ["b", "e", "c"]
    assert printer(farm)["queue_length"] == 3
    page = farm.ask(GetPrinterQueue("printer1", limit=1, offset=1)).value
    assert ([job["job_id"] for job in page.items], page.total) == (["e"], 3)
    assert farm.ask(GetPrinterQueue("ghost")).code == "not_found"


@pytest.mark.parametrize("priority", [101, -101, 1.5, True, "1", None])
def test_priority_out_of_range_or_not_an_integer_is_invalid(priority: object) -> None:
    farm = Farm().seed()
    farm.refused(CreateJob("j1", "printer1", "f1", 1, "", priority), "invalid_field", "priority")
    farm.queue("j2")
    if priority is not None:  # None is "unchanged" in a PATCH
        farm.refused(UpdateJob("j2", priority=priority), "invalid_field", "priority")


def test_priority_changes_only_while_queued_details_any_time() -> None:
    farm = Farm().seed()
    running(farm)
    rejected = farm.refused(UpdateJob("j1", priority=3), "not_queued", "priority")
    assert "Running" in rejected.detail
    applied = farm.propose(UpdateJob("j1", details="second layer fine"))
    assert applied.outcome.value["details"] == "second layer fine"
    assert [e.type for e in applied.events] == ["job.updated"]
    assert farm.propose(UpdateJob("j1", priority=0)).events == ()  # the same priority is no change
    farm.refused(UpdateJob("ghost", priority=1), "not_found", "job_id")


# --- progress and usage as it happens -----------------------------------------------------------------------


def test_progress_consumes_used_grams_at_once() -> None:
    farm = Farm().seed(grams=100)
    farm.queue("j1", grams=30)
    assert farm.job("j1")["progress_percent"] is None
    farm.ok(SetJobStatus("j1", "Running"))
    assert farm.job("j1")["progress_percent"] == 0
    applied = farm.propose(ReportProgress("j1", percent=40, used_grams=12))
    assert [e.type for e in applied.events] == ["job.progress", "filament.updated", "filament.ledger"]
    assert (applied.outcome.value["progress_percent"], applied.outcome.value["used_weight_in_grams"]) == (
        40,
        12,
    )
    assert grams(farm) == (88, 18)
    farm.ok(ReportProgress("j1", used_grams=20))
    assert grams(farm) == (80, 10)
    assert farm.propose(ReportProgress("j1", percent=40)).events == ()  # nothing new
    farm.ok(SetJobStatus("j1", "Done"))
    assert grams(farm) == (70, 0)
    assert farm.job("j1")["progress_percent"] == 100
    assert ledger(farm) == [
        ("create", None, 100, 0),
        ("reserve", "j1", 0, 30),
        ("consume", "j1", -12, -12),
        ("consume", "j1", -8, -8),
        ("consume", "j1", -10, -10),
    ]


@pytest.mark.parametrize("reported,expected_used", [(None, 12), (5, 12), (12, 12), (20, 20)])
def test_cancel_and_fail_consume_the_larger_report_and_release_the_rest(
    reported: int | None, expected_used: int
) -> None:
    farm = Farm().seed(grams=100)
    running(farm, grams_=30)
    farm.ok(ReportProgress("j1", used_grams=12))
    farm.ok(SetJobStatus("j1", "Failed", used_grams=reported))
    assert farm.job("j1")["used_weight_in_grams"] == expected_used
    assert grams(farm) == (100 - expected_used, 0)
    assert ledger(farm)[-1] == ("release", "j1", 0, -(30 - expected_used))


def test_progress_refusals() -> None:
    farm = Farm().seed()
    farm.queue("j1", grams=20)
    farm.refused(ReportProgress("j1", percent=1), "invalid_transition", "status")
    farm.ok(SetJobStatus("j1", "Running"))
    farm.ok(ReportProgress("j1", percent=50, used_grams=5))
    assert (
        "already at 50%" in farm.refused(ReportProgress("j1", percent=49), "invalid_field", "percent").detail
    )
    farm.refused(ReportProgress("j1", used_grams=4), "invalid_field", "used_grams")
    farm.refused(ReportProgress("j1", used_grams=21), "invalid_field", "used_grams")
    farm.refused(ReportProgress("j1", percent=101), "invalid_field", "percent")
    farm.refused(ReportProgress("j1", percent=-1), "invalid_field", "percent")
    farm.refused(ReportProgress("j1", percent=5.5), "invalid_field", "percent")
    farm.refused(ReportProgress("j1"), "invalid_field", "percent")
    farm.refused(ReportProgress("ghost", percent=1), "not_found", "job_id")
    farm.ok(SetJobStatus("j1", "Paused"))
    farm.ok(ReportProgress("j1", percent=60))  # Paused may still report
    farm.ok(SetJobStatus("j1", "Cancelled"))
    farm.refused(ReportProgress("j1", percent=70), "invalid_transition")


def test_used_grams_on_a_status_change_only_with_cancelled_or_failed() -> None:
    farm = Farm().seed()
    running(farm)
    farm.refused(SetJobStatus("j1", "Paused", used_grams=1), "invalid_field", "used_grams")
    farm.refused(SetJobStatus("j1", "Done", used_grams=1), "invalid_field", "used_grams")


# --- failure reasons ----------------------------------------------------------------------------------------


def test_failed_records_its_reason_default_other() -> None:
    farm = Farm().seed()
    running(farm, "j1")
    assert farm.ok(SetJobStatus("j1", "Failed", reason="spaghetti"))["failure_reason"] == "spaghetti"
    farm.ok(ClearBed("printer1"))
    running(farm, "j2")
    assert farm.ok(SetJobStatus("j2", "Failed"))["failure_reason"] == "other"
    farm.queue("j3")
    assert farm.job("j3")["failure_reason"] is None


def test_reason_refusals() -> None:
    farm = Farm().seed()
    running(farm)
    detail = farm.refused(SetJobStatus("j1", "Failed", reason="gremlins"), "invalid_field", "reason").detail
    assert "adhesion" in detail and "other" in detail
    farm.refused(SetJobStatus("j1", "Cancelled", reason="clog"), "invalid_field", "reason")
    farm.refused(SetJobStatus("j1", "Done", reason="other"), "invalid_field", "reason")


# --- retry --------------------------------------------------------------------------------------------------


def test_retry_queues_a_copy_that_reserves_again() -> None:
    farm = Farm().seed(grams=100)
    farm.ok(CreateJob("j1", "printer1", "f1", 30, "benchy", 7))
    farm.ok(SetJobStatus("j1", "Running"))
    farm.ok(SetJobStatus("j1", "Failed", used_grams=10, reason="adhesion"))
    applied = farm.propose(RetryJob("j1", "j1-again"))
    job = applied.outcome.value
    assert (job["job_id"], job["status"], job["retry_of"], job["priority"], job["details"]) == (
        "j1-again",
        "Queued",
        "j1",
        7,
        "benchy",
    )
    assert [e.type for e in applied.events] == ["job.created", "filament.updated", "filament.ledger"]
    assert grams(farm) == (90, 30)
    farm.refused(RetryJob("j1", "j1-again"), "already_exists", "job_id")
    farm.refused(RetryJob("j1-again", "j3"), "invalid_transition", "status")
    farm.refused(RetryJob("ghost", "j3"), "not_found", "job_id")
    farm.refused(RetryJob("j1", ""), "invalid_field", "new_job_id")
    farm.ok(SetJobStatus("j1-again", "Cancelled"))
    farm.ok(RetryJob("j1-again", "j1-third"))  # a Cancelled job may be retried too


def test_retry_needs_the_filament_still_there_and_enough_of_it() -> None:
    farm = Farm().seed(grams=50)
    farm.queue("j1", grams=40)
    farm.ok(SetJobStatus("j1", "Cancelled"))
    farm.queue("j2", grams=20)
    farm.refused(RetryJob("j1", "j3"), "insufficient_filament")


# --- the ledger ---------------------------------------------------------------------------------------------


def test_the_ledger_records_every_change_of_grams_and_chains() -> None:
    farm = Farm().seed(grams=100)
    farm.queue("j1", grams=30)
    farm.ok(UpdateFilament("f1", remaining_weight_in_grams=90))
    farm.ok(UpdateFilament("f1", color="Blue"))  # no grams: no entry
    farm.ok(SetJobStatus("j1", "Cancelled", used_grams=4))
    entries = farm.ask(GetLedger("f1")).value.items
    assert [(e["kind"], e["remaining_delta"], e["reserved_delta"]) for e in entries] == [
        ("create", 100, 0),
        ("reserve", 0, 30),
        ("adjust", -10, 0),
        ("consume", -4, -4),
        ("release", 0, -26),
    ]
    assert [(e["remaining_after"], e["reserved_after"]) for e in entries] == [
        (100, 0),
        (100, 30),
        (90, 30),
        (86, 26),
        (86, 0),
    ]
    assert entries[0]["at"].endswith("Z") and entries[0]["index"] == 2
    page = farm.ask(GetLedger("f1", limit=2, offset=3)).value
    assert ([e["kind"] for e in page.items], page.total) == (["consume", "release"], 5)
    assert farm.ask(GetLedger("ghost")).code == "not_found"
    assert farm.ask(GetLedger("f1", limit=-1)).code == "invalid_field"


def test_a_snapshot_whose_ledger_does_not_chain_is_refused() -> None:
    farm = Farm().seed(grams=100)
    farm.queue("j1", grams=30)
    obj = msgpack.unpackb(farm.state.snapshot())
    entries = list(msgpack.Unpacker(io.BytesIO(obj[2][0][6])))
    assert [entry[2] for entry in entries] == [0, 1]  # create, reserve

    def restore_with(entries: list[list], remaining: int = 100) -> FarmState:
        obj[2][0][4] = remaining
        obj[2][0][6] = b"".join(msgpack.packb(entry) for entry in entries)
        return FarmState.restore(msgpack.packb(obj, use_bin_type=True))

    assert restore_with(entries).snapshot() == farm.state.snapshot()
    with pytest.raises(SnapshotError, match="does not chain"):
        restore_with([*entries[:-1], [*entries[-1][:7], 29]])  # reserved_after no longer follows
    with pytest.raises(SnapshotError, match="does not chain"):
        restore_with(entries, remaining=99)  # the spool's remaining no longer equals its last entry's
    with pytest.raises(SnapshotError, match="does not chain"):
        restore_with(entries[1:])  # the create entry is missing
    with pytest.raises(SnapshotError, match="8 values"):
        restore_with([*entries, [1, 2]])


# --- low stock ----------------------------------------------------------------------------------------------


def test_low_stock_fires_once_per_crossing() -> None:
    farm = Farm().seed(grams=100)
    applied = farm.propose(UpdateFilament("f1", low_stock_threshold_in_grams=50))
    assert farm.filament("f1")["low_stock"] is False and applied.events[-1].type == "filament.updated"
    types = [e.type for e in farm.propose(CreateJob("j1", "printer1", "f1", 60)).events]
    assert types[-1] == "filament.low_stock" and farm.filament("f1")["low_stock"] is True
    farm.ok(CreateJob("j2", "printer1", "f1", 1))
    assert "filament.low_stock" not in [
        e.type for e in farm.propose(CreateJob("j3", "printer1", "f1", 1)).events
    ]
    farm.ok(SetJobStatus("j1", "Cancelled"))  # back above the threshold
    assert farm.filament("f1")["low_stock"] is False
    assert "filament.low_stock" in [
        e.type for e in farm.propose(CreateJob("j4", "printer1", "f1", 60)).events
    ]


def test_a_threshold_below_zero_is_invalid() -> None:
    farm = Farm().seed()
    farm.refused(
        UpdateFilament("f1", low_stock_threshold_in_grams=-1), "invalid_field", "low_stock_threshold_in_grams"
    )
    farm.refused(
        CreateFilament("f2", "PLA", "Red", 5, 5, -1), "invalid_field", "low_stock_threshold_in_grams"
    )
    low = farm.propose(CreateFilament("f3", "PLA", "Red", 5, 5, 10))
    assert low.outcome.value["low_stock"] is True
    assert [e.type for e in low.events] == ["filament.created", "filament.ledger", "filament.low_stock"]


# --- stats --------------------------------------------------------------------------------------------------


def test_stats_count_jobs_reasons_grams_and_printers() -> None:
    farm = Farm().seed(grams=100)
    farm.ok(CreateFilament("f2", "PETG", "Blue", 100, 100))
    running(farm, "a", 10)
    farm.ok(ReportProgress("a", used_grams=3))
    farm.ok(SetJobStatus("a", "Failed", reason="clog"))
    farm.ok(CreateJob("b", "printer1", "f2", 20))
    farm.ok(ClearBed("printer1"))
    farm.ok(SetJobStatus("b", "Running"))
    farm.ok(SetJobStatus("b", "Done"))
    farm.ok(UpdateFilament("f2", type="PLA"))  # grams already consumed stay counted under PETG
    farm.queue("c")
    stats = farm.ask(GetStats()).value
    assert stats["jobs"] == {"Queued": 1, "Running": 0, "Paused": 0, "Done": 1, "Cancelled": 0, "Failed": 1}
    assert stats["failure_reasons"]["clog"] == 1 and sum(stats["failure_reasons"].values()) == 1
    assert (stats["grams_consumed"], stats["grams_consumed_by_type"]) == (23, {"PETG": 20, "PVC": 3})
    assert stats["printers"]["idle"] == 1 and sum(stats["printers"].values()) == 1
    assert FarmState.restore(farm.state.snapshot()).query(GetStats()).value == stats


# --- the wire: old log entries still decode -----------------------------------------------------------------


def test_commands_written_before_the_workflow_still_decode_and_new_ones_omit_default_fields() -> None:
    assert decode_command(msgpack.packb([7, "j1", "p1", "f1", 5, "x"])) == CreateJob("j1", "p1", "f1", 5, "x")
    assert decode_command(msgpack.packb([8, "j1", "Failed", 3])) == SetJobStatus("j1", "Failed", 3)
    assert decode_command(msgpack.packb([2, "p1", None, "MK4"])) == UpdatePrinter("p1", model="MK4")
    assert msgpack.unpackb(encode_command(CreateJob("j1", "p1", "f1", 5, "x"))) == [
        7,
        "j1",
        "p1",
        "f1",
        5,
        "x",
    ]
    assert msgpack.unpackb(encode_command(CreateJob("j1", "p1", "f1", 5, "x", 3)))[-1] == 3
    for command in (ClearBed("p"), UpdateJob("j", 1, "d"), ReportProgress("j", 1, 2), RetryJob("a", "b")):
        assert decode_command(encode_command(command)) == command
    assert CreatePrinter("p", "HP", "L12") == decode_command(encode_command(CreatePrinter("p", "HP", "L12")))


def test_a_retry_prints_the_same_file() -> None:
    """A retried job on a connected printer is dispatched only if it names its G-code file, so the copy
    carries the original's `file` (and none of its dispatch baseline or failure detail)."""
    farm = Farm().seed(grams=100)
    farm.ok(CreateJob("j1", "printer1", "f1", 30, "benchy", 0, "benchy.gcode"))
    farm.ok(SetJobStatus("j1", "Running"))
    farm.ok(SetJobStatus("j1", "Failed", used_grams=10, reason="adhesion"))
    job = farm.ok(RetryJob("j1", "j1-again"))
    assert (job["file"], job["retry_of"], job["failure_detail"]) == ("benchy.gcode", "j1", None)
