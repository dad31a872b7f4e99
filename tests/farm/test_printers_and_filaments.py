from __future__ import annotations

from farm.commands import (
    CreateFilament,
    CreatePrinter,
    DeleteFilament,
    DeletePrinter,
    SetJobStatus,
    UpdateFilament,
    UpdatePrinter,
)
from farm.queries import GetFilament, GetPrinter
from farm.results import Event, Ok
from tests.farm.harness import Farm

# what a new printer shows beside the seed's fields
IDLE = {"status": "idle", "current_job_id": None, "queue_length": 0, "maintenance": False, "bed_clear": True}


def test_create_printer_answers_the_seed_shape_and_emits_an_event() -> None:
    farm = Farm()
    applied = farm.propose(CreatePrinter("printer1", "HP", "L12"))
    printer = {"id": "printer1", "company": "HP", "model": "L12", **IDLE}
    assert applied.outcome == Ok(printer)
    assert applied.events == (Event(1, "printer.created", printer),)
    assert farm.ask(GetPrinter("printer1")) == Ok(printer)


def test_create_refuses_an_existing_id_instead_of_overwriting() -> None:
    farm = Farm().seed()
    assert (
        "printer1" in farm.refused(CreatePrinter("printer1", "Prusa", "MK4"), "already_exists", "id").detail
    )
    farm.refused(CreateFilament("f1", "PLA", "Red", 5, 5), "already_exists", "id")
    assert farm.ask(GetPrinter("printer1")) == Ok({"id": "printer1", "company": "HP", "model": "L12", **IDLE})


def test_create_filament_shows_reserved_and_available() -> None:
    farm = Farm()
    value = farm.ok(CreateFilament("f1", "PVC", "Black", 100, 80))
    assert value == {
        "id": "f1",
        "type": "PVC",
        "color": "Black",
        "total_weight_in_grams": 100,
        "remaining_weight_in_grams": 80,
        "reserved_weight_in_grams": 0,
        "available_weight_in_grams": 80,
        "low_stock_threshold_in_grams": None,
        "low_stock": False,
    }


def test_update_printer_changes_only_given_fields() -> None:
    farm = Farm().seed()
    applied = farm.propose(UpdatePrinter("printer1", model="L14"))
    assert applied.outcome == Ok({"id": "printer1", "company": "HP", "model": "L14", **IDLE})
    assert [event.type for event in applied.events] == ["printer.updated"]


def test_update_that_changes_nothing_emits_no_event() -> None:
    farm = Farm().seed()
    assert farm.propose(UpdatePrinter("printer1")).events == ()
    assert farm.propose(UpdatePrinter("printer1", company="HP")).events == ()
    assert farm.propose(UpdateFilament("f1", color="Black", total_weight_in_grams=100)).events == ()


def test_update_and_delete_of_missing_objects_are_not_found() -> None:
    farm = Farm()
    farm.refused(UpdatePrinter("ghost", model="x"), "not_found", "id")
    farm.refused(DeletePrinter("ghost"), "not_found", "id")
    farm.refused(UpdateFilament("ghost", color="x"), "not_found", "id")
    detail = farm.refused(DeleteFilament("ghost"), "not_found", "id").detail
    assert detail == "filament ghost does not exist"
    assert farm.ask(GetPrinter("ghost")).code == "not_found"
    assert farm.ask(GetFilament("ghost")).code == "not_found"


def test_update_filament_restocks_and_keeps_remaining_within_total() -> None:
    farm = Farm().seed(grams=100)
    value = farm.ok(
        UpdateFilament("f1", total_weight_in_grams=1000, remaining_weight_in_grams=1000, color="Red")
    )
    assert (value["total_weight_in_grams"], value["remaining_weight_in_grams"], value["color"]) == (
        1000,
        1000,
        "Red",
    )
    farm.refused(
        UpdateFilament("f1", remaining_weight_in_grams=1001), "invalid_field", "remaining_weight_in_grams"
    )
    # lowering the total below what remains names the total, the field that was sent
    farm.refused(UpdateFilament("f1", total_weight_in_grams=999), "invalid_field", "total_weight_in_grams")
    value = farm.ok(UpdateFilament("f1", total_weight_in_grams=500, remaining_weight_in_grams=500))
    assert value["available_weight_in_grams"] == 500


def test_update_filament_cannot_drop_remaining_below_what_jobs_reserved() -> None:
    farm = Farm().seed(grams=100)
    farm.queue("j1", grams=60)
    rejected = farm.refused(
        UpdateFilament("f1", remaining_weight_in_grams=59),
        "insufficient_filament",
        "remaining_weight_in_grams",
    )
    assert "60 g reserved" in rejected.detail and "59 g" in rejected.detail
    assert farm.ok(UpdateFilament("f1", remaining_weight_in_grams=60))["available_weight_in_grams"] == 0


def test_delete_printer_and_filament_emit_id_only_events() -> None:
    farm = Farm().seed()
    applied = farm.propose(DeletePrinter("printer1"))
    assert applied.outcome == Ok(None)
    assert applied.events == (Event(3, "printer.deleted", {"id": "printer1"}),)
    assert farm.propose(DeleteFilament("f1")).events == (Event(4, "filament.deleted", {"id": "f1"}),)
    assert farm.ask(GetPrinter("printer1")).code == "not_found"
    farm.ok(CreatePrinter("printer1", "Prusa", "MK4"))  # the id is free again


def test_delete_refused_while_an_active_job_references_it() -> None:
    farm = Farm().seed()
    farm.queue("j1")
    farm.queue("j2")
    rejected = farm.refused(DeletePrinter("printer1"), "in_use")
    assert "job j1 (Queued) and 1 other active job" in rejected.detail
    farm.refused(DeleteFilament("f1"), "in_use")
    farm.ok(SetJobStatus("j1", "Running"))
    farm.ok(SetJobStatus("j1", "Paused"))
    assert "job j1 (Paused)" in farm.refused(DeleteFilament("f1"), "in_use").detail
    farm.ok(SetJobStatus("j1", "Cancelled"))
    assert "job j2 (Queued);" in farm.refused(DeletePrinter("printer1"), "in_use").detail
    farm.ok(SetJobStatus("j2", "Cancelled"))
    # terminal jobs do not hold their printer or spool
    farm.ok(DeletePrinter("printer1"))
    farm.ok(DeleteFilament("f1"))
    assert farm.job("j1")["printer_id"] == "printer1"
