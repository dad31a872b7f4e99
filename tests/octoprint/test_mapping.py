"""The connection's mapping of OctoPrint answers, against answers recorded from a real OctoPrint 1.11.8 with
its virtual printer (tests/octoprint/record_fixtures.py wrote them)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from actors.octoprint import mapping
from actors.octoprint.mapping import Observation, PrintCounts

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FILE = "fixture.gcode"


def recorded(name: str) -> tuple[int, Any]:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    return data["status"], data["body"]


def observed(stage: str) -> Observation:
    _, job = recorded(f"job_{stage}")
    status, printer = recorded(f"printer_{stage}")
    return mapping.observe(job, printer if status == 200 else None)


def counts(name: str) -> PrintCounts:
    return mapping.print_counts(recorded(name)[1])


@pytest.mark.parametrize(
    ("stage", "reported", "file", "completion"),
    [
        ("idle", "operational", None, None),
        ("printing", "printing", FILE, 20.3),
        ("paused", "paused", FILE, 20.3),
        ("cancelled", "operational", FILE, None),
        ("finished", "operational", FILE, 100.0),
        ("error", "error", None, None),
    ],
)
def test_each_recorded_stage_maps_to_our_words(
    stage: str, reported: str, file: str | None, completion: float | None
) -> None:
    seen = observed(stage)
    assert seen.reported == reported
    assert seen.file == file
    if completion is None:
        assert seen.completion is None
    else:
        assert seen.completion == pytest.approx(completion, abs=0.1)


def test_the_error_stage_keeps_octoprints_words() -> None:
    seen = observed("error")
    assert seen.state_text == "Offline after error"
    assert seen.error is not None and "MINTEMP" in seen.error


def test_job_state_alone_when_the_printer_answer_is_409() -> None:
    status, _ = recorded("printer_error")
    assert status == 409
    _, job = recorded("job_error")
    assert mapping.observe(job, None).reported == "error"


@pytest.mark.parametrize(
    ("text", "reported"),
    [
        ("Operational", "operational"),
        ("Printing", "printing"),
        ("Printing from SD", "printing"),
        ("Starting", "printing"),
        ("Cancelling", "printing"),
        ("Finishing", "printing"),
        ("Pausing", "paused"),
        ("Paused", "paused"),
        ("Error", "error"),
        ("Offline after error", "error"),
        ("Offline", "offline"),
        ("Opening serial connection", "offline"),
        ("Detecting serial connection", "offline"),
        ("", "offline"),
    ],
)
def test_state_texts(text: str, reported: str) -> None:
    assert mapping.reported_from_state(text) == reported


def test_flags_override_the_text_when_the_printer_answers() -> None:
    _, job = recorded("job_printing")
    _, printer = recorded("printer_paused")
    assert mapping.observe(job, printer).reported == "paused"


def test_filament_length_of_the_recorded_file() -> None:
    assert observed("printing").filament_mm == 4000.0
    assert observed("idle").filament_mm is None  # nothing selected: {"length": null, "volume": null}
    _, info = recorded("file_before_print")
    assert mapping.filament_length(info["gcodeAnalysis"]["filament"]) == 4000.0
    assert mapping.filament_length({"tool0": {"length": 100.0}, "tool1": {"length": 23.5}}) == 123.5
    assert mapping.filament_length(None) is None
    assert mapping.filament_length({"tool0": {"length": None}}) is None


@pytest.mark.parametrize(
    ("length_mm", "kind", "grams"),
    [
        (4000.0, "PLA", 12),  # 4000 * π * 0.875² / 1000 = 9.621 cm³ * 1.24 = 11.93
        (4000.0, "PETG", 12),  # * 1.27 = 12.22
        (4000.0, "ABS", 10),  # * 1.04 = 10.01
        (4000.0, "ASA", 10),  # * 1.07 = 10.29
        (4000.0, "TPU", 12),  # * 1.21 = 11.64
        (4000.0, "Nylon", 12),  # anything else: PLA's 1.24
        (4000.0, "pla", 12),
        (120.0, "PLA", 0),  # OCTOPRINT.md's 104-line file: 0.36 g
        (0.0, "PLA", 0),
        (1000000.0, "PLA", 2983),  # a full 1 km spool: 2405.28 cm³ * 1.24 = 2982.55
    ],
)
def test_grams_from_length(length_mm: float, kind: str, grams: int) -> None:
    assert mapping.grams_from_length(length_mm, kind) == grams
    exact = length_mm * math.pi * (1.75 / 2) ** 2 / 1000 * mapping.density(kind)
    assert abs(grams - exact) <= 0.5


def test_half_grams_round_up() -> None:
    # Python's round() would give the even 2 for 2.5 g: whole grams here round half up
    per_mm = math.pi * (1.75 / 2) ** 2 / 1000 * 1.24
    assert mapping.grams_from_length(2.5 / per_mm + 1e-9, "PLA") == 3


def test_progress_and_used_grams_while_printing() -> None:
    seen = observed("printing")
    assert mapping.progress_percent(seen.completion) == 20
    # 20.3% of 4000 mm of PLA: 812 mm = 2.42 g
    assert mapping.used_grams(seen, "PLA", job_weight=50) == 2
    assert mapping.used_grams(seen, "PLA", job_weight=1) == 1  # never more than the job's weight
    assert mapping.progress_percent(observed("finished").completion) == 100
    assert mapping.progress_percent(99.99) == 99
    assert mapping.used_grams(observed("finished"), "PLA", 50) == 12
    assert mapping.used_grams(observed("cancelled"), "PLA", 50) is None  # completion gone after a cancel


def test_print_counts_before_and_after() -> None:
    assert counts("file_before_print") == PrintCounts(0, 0)
    assert counts("file_after_cancel") == PrintCounts(0, 1)
    assert counts("file_after_success") == PrintCounts(1, 1)
    assert counts("file_after_error") == PrintCounts(1, 2)
    assert mapping.print_counts(None) == PrintCounts(0, 0)


def test_how_prints_end() -> None:
    finished, cancelled = observed("finished"), observed("cancelled")
    ending = mapping.print_ending(finished, counts("file_after_cancel"), counts("file_after_success"))
    assert ending is not None and ending.status == "Done"
    ending = mapping.print_ending(cancelled, counts("file_before_print"), counts("file_after_cancel"))
    assert ending is not None and ending.status == "Cancelled"
    ending = mapping.print_ending(observed("error"), counts("file_after_success"), counts("file_after_error"))
    assert ending is not None
    assert (ending.status, ending.reason) == ("Failed", "printer_error")
    assert "MINTEMP" in ending.detail
    # still printing, or idle without a new count: not ended
    assert mapping.print_ending(observed("printing"), PrintCounts(0, 0), PrintCounts(0, 0)) is None
    assert mapping.print_ending(observed("paused"), PrintCounts(0, 0), PrintCounts(1, 0)) is None
    assert mapping.print_ending(observed("idle"), PrintCounts(0, 0), PrintCounts(0, 0)) is None


def test_a_printer_error_before_any_count_still_fails_the_job() -> None:
    ending = mapping.print_ending(observed("error"), PrintCounts(1, 2), PrintCounts(1, 2))
    assert ending is not None
    assert (ending.status, ending.reason) == ("Failed", "printer_error")


def test_after_a_decision_a_leader_starts_adopts_or_waits() -> None:
    zero = PrintCounts(0, 0)
    assert mapping.after_decision(observed("printing"), FILE, zero, zero) == "adopt"
    assert mapping.after_decision(observed("paused"), FILE, zero, zero) == "adopt"
    assert mapping.after_decision(observed("printing"), "other.gcode", zero, zero) == "wait"
    assert mapping.after_decision(observed("idle"), FILE, zero, zero) == "start"
    # it printed the file since the decision (finished or cancelled): never start it again
    assert mapping.after_decision(observed("finished"), FILE, zero, PrintCounts(1, 0)) == "ended"
    assert mapping.after_decision(observed("cancelled"), FILE, zero, PrintCounts(0, 1)) == "ended"
    assert mapping.after_decision(observed("error"), FILE, zero, zero) == "wait"


def test_offline_only_from_the_third_failed_poll() -> None:
    assert mapping.connection_reported(1, "printing") == "printing"
    assert mapping.connection_reported(2, "operational") == "operational"
    assert mapping.connection_reported(3, "printing") == "offline"
    assert mapping.connection_reported(7, None) == "offline"


def test_keys_are_derived_from_the_report() -> None:
    assert mapping.progress_key("j1", 20, 2) == mapping.progress_key("j1", 20, 2)
    assert mapping.progress_key("j1", 20, 2) != mapping.progress_key("j1", 21, 2)
    assert mapping.end_key("j1", "Done") != mapping.end_key("j1", "Cancelled")
    assert mapping.start_key("j1") != mapping.start_key("j2")
    same = mapping.reported_key("p1", 4, "printing", "connected")
    assert same == mapping.reported_key("p1", 4, "printing", "connected")
    assert same != mapping.reported_key("p1", 5, "printing", "connected")
