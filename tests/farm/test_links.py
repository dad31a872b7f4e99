"""Printer connections in the replicated state (farm/links.py): settings, reports, dispatch, endings."""

from __future__ import annotations

from farm.commands import (
    ClearBed,
    CreateFilament,
    CreateJob,
    CreatePrinter,
    DeletePrinter,
    DispatchJob,
    EndJobFromPrinter,
    ReportPrinterState,
    SetJobStatus,
    SetPrinterConnection,
    UpdatePrinter,
)
from farm.queries import ConnectedPrinters, GetPrinter, PrinterLink
from farm.results import Ok
from farm.state import FarmState
from tests.farm.harness import Farm

URL = "http://127.0.0.1:5000"
KEY = "ABCDEF0123456789"


def connected() -> Farm:
    farm = Farm()
    farm.ok(CreatePrinter("p1", "Prusa", "MK4", "octoprint", URL, KEY))
    farm.ok(CreateFilament("f1", "PETG", "Black", 1000, 1000))
    return farm


def link(farm: Farm, previous: str | None = None) -> dict:
    outcome = farm.ask(PrinterLink("p1", previous))
    assert isinstance(outcome, Ok)
    return outcome.value


def test_a_connection_shows_masked_and_is_listed_with_its_key_for_the_leader_only() -> None:
    farm = connected()
    printer = farm.ask(GetPrinter("p1")).value
    assert printer["connection"] == {"kind": "octoprint", "url": URL, "api_key": "***"}
    assert printer["connection_state"] is None
    assert KEY not in repr(printer)
    assert farm.ask(ConnectedPrinters()).value == {"p1": ("octoprint", URL, KEY)}


def test_bad_settings_are_refused_naming_the_field() -> None:
    farm = Farm()
    farm.refused(
        CreatePrinter("p1", "a", "b", "octoprint", "ftp://x", KEY), "invalid_field", "connection.url"
    )
    farm.refused(CreatePrinter("p1", "a", "b", "octoprint", URL, None), "invalid_field", "connection.api_key")
    farm.refused(CreatePrinter("p1", "a", "b", "moonraker", URL, KEY), "invalid_field", "connection.kind")
    farm.ok(CreatePrinter("p1", "a", "b"))
    farm.refused(
        SetPrinterConnection("p1", "octoprint", URL, "two words"), "invalid_field", "connection.api_key"
    )
    farm.refused(SetPrinterConnection("nope", "octoprint", URL, KEY), "not_found")


def test_connecting_changing_and_removing() -> None:
    farm = Farm()
    farm.ok(CreatePrinter("p1", "a", "b"))
    assert farm.ask(ConnectedPrinters()).value == {}
    applied = farm.propose(SetPrinterConnection("p1", "octoprint", URL, KEY))
    assert [e.type for e in applied.events] == ["printer.updated"]
    farm.ok(ReportPrinterState("p1", None, "connected"))
    farm.ok(SetPrinterConnection("p1", "octoprint", URL, "NEWKEY"))  # same OctoPrint, a new key
    assert farm.ask(GetPrinter("p1")).value["connection_state"] == "connected"
    printer = farm.ok(SetPrinterConnection("p1"))
    assert (printer["connection"], printer["connection_state"], printer["status"]) == (None, None, "idle")
    assert farm.ask(PrinterLink("p1")).value is None
    farm.refused(ReportPrinterState("p1", "offline", "unreachable"), "not_connected")


def test_reports_set_the_status_and_count_changes_only() -> None:
    farm = connected()
    assert link(farm)["reported_version"] == 0
    applied = farm.propose(ReportPrinterState("p1", "offline", "unreachable"))
    assert [e.type for e in applied.events] == ["printer.updated"]
    printer = farm.ask(GetPrinter("p1")).value
    assert (printer["status"], printer["connection_state"]) == ("offline", "unreachable")
    assert link(farm)["reported_version"] == 1
    again = farm.propose(ReportPrinterState("p1", "offline", "unreachable"))
    assert again.events == () and link(farm)["reported_version"] == 1
    farm.ok(ReportPrinterState("p1", None, "connected"))
    assert farm.ask(GetPrinter("p1")).value["status"] == "idle"
    farm.refused(ReportPrinterState("p1", "sleeping", "connected"), "invalid_field", "reported_state")


def test_dispatch_starts_the_queue_head_with_its_baseline_and_the_usual_rules() -> None:
    farm = connected()
    farm.ok(CreateJob("j1", "p1", "f1", 20, "a", 0, "a.gcode"))
    farm.ok(CreateJob("j2", "p1", "f1", 20, "b", 5, "b.gcode"))  # higher priority: first
    farm.refused(DispatchJob("j1", 0, 0), "not_next")
    job = farm.ok(DispatchJob("j2", 3, 1))
    assert (job["status"], job["file"]) == ("Running", "b.gcode")
    view = link(farm)
    assert view["active"]["baseline"] == (3, 1) and view["active"]["filament_type"] == "PETG"
    assert view["next_job"]["job_id"] == "j1"
    farm.ok(EndJobFromPrinter("j2", "Done"))
    farm.refused(DispatchJob("j1", 0, 0), "bed_not_clear")
    farm.ok(ClearBed("p1"))
    farm.ok(UpdatePrinter("p1", maintenance=True))
    farm.refused(DispatchJob("j1", 0, 0), "printer_unavailable")
    farm.ok(UpdatePrinter("p1", maintenance=False))
    farm.ok(ReportPrinterState("p1", "printing", "connected"))  # busy with something not ours
    farm.refused(DispatchJob("j1", 0, 0), "printer_unavailable")
    farm.ok(ReportPrinterState("p1", None, "connected"))
    assert farm.ok(DispatchJob("j1", 0, 0))["status"] == "Running"


def test_a_job_without_a_file_is_not_dispatched() -> None:
    farm = connected()
    farm.ok(CreateJob("j1", "p1", "f1", 20, "by hand"))
    farm.refused(DispatchJob("j1", 0, 0), "no_file")


def test_ending_from_the_printer_keeps_the_detail_and_the_grams_exact() -> None:
    farm = connected()
    farm.ok(CreateJob("j1", "p1", "f1", 20, "a", 0, "a.gcode"))
    farm.ok(DispatchJob("j1", 0, 0))
    detail = "OctoPrint has no file 'a.gcode' in its local storage"
    job = farm.ok(EndJobFromPrinter("j1", "Failed", "printer_error", None, detail))
    assert (job["failure_reason"], job["failure_detail"], job["used_weight_in_grams"]) == (
        "printer_error",
        detail,
        0,
    )
    assert farm.filament("f1")["remaining_weight_in_grams"] == 1000
    farm.refused(EndJobFromPrinter("j1", "Done"), "invalid_transition")
    assert link(farm, "j1")["last_ended"]["status"] == "Failed"
    farm.refused(EndJobFromPrinter("j1", "Cancelled", "printer_error"), "invalid_field", "reason")


def test_a_refused_ending_leaves_no_detail() -> None:
    farm = connected()
    farm.ok(CreateJob("j1", "p1", "f1", 20, "a", 0, "a.gcode"))
    farm.refused(EndJobFromPrinter("j1", "Failed", "printer_error", None, "why"), "invalid_transition")
    assert farm.job("j1")["failure_detail"] is None


def test_a_printing_printer_cannot_be_deleted_and_everything_survives_a_snapshot() -> None:
    farm = connected()
    farm.ok(CreateJob("j1", "p1", "f1", 20, "a", 0, "a.gcode"))
    farm.ok(DispatchJob("j1", 2, 0))
    farm.ok(ReportPrinterState("p1", None, "connected"))
    farm.refused(DeletePrinter("p1"), "in_use")
    restored = FarmState.restore(farm.state.snapshot())
    assert restored.snapshot() == farm.state.snapshot()
    assert restored.query(PrinterLink("p1")) == farm.ask(PrinterLink("p1"))
    assert restored.query(ConnectedPrinters()).value == {"p1": ("octoprint", URL, KEY)}
    farm.ok(SetJobStatus("j1", "Cancelled"))
