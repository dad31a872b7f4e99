"""A snapshot holds every field every branch added: a state touched by every command type answers every
query the same after a restore, continues the same, and answers a retried idempotency key the same."""

from __future__ import annotations

from typing import Any

from farm.codec import _TAGS
from farm.commands import (
    BootstrapAcl,
    ClearBed,
    Command,
    CreateFilament,
    CreateJob,
    CreatePrinter,
    CreateToken,
    DeleteFilament,
    DeletePrinter,
    DispatchJob,
    EndJobFromPrinter,
    ReportPrinterState,
    ReportProgress,
    RetryJob,
    RevokeToken,
    SetJobStatus,
    SetPrinterConnection,
    UpdateFilament,
    UpdateJob,
    UpdatePrinter,
)
from farm.queries import (
    ConnectedPrinters,
    GetFilament,
    GetJob,
    GetLedger,
    GetPrinter,
    GetPrinterQueue,
    GetStats,
    ListFilaments,
    ListJobs,
    ListPrinters,
    ListTokens,
    PrinterLink,
    Query,
)
from farm.results import Ok
from farm.state import FarmState
from farm.tokens import hash_secret
from tests.farm.harness import Farm

KEY_1 = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4"
KEY_2 = "f6e5d4c3b2a1f6e5d4c3b2a1f6e5d4c3"

# Every command type, each applied successfully at least once, keyed where a client would key it.
SCRIPT: list[tuple[Command, str | None]] = [
    (CreatePrinter("p1", "HP", "L12", "octoprint", "http://127.0.0.1:5000", KEY_1), "k-p1"),
    (CreatePrinter("p2", "Prusa", "MK4"), None),
    (CreatePrinter("p3", "Bambu", "X1"), None),
    (DeletePrinter("p3"), None),
    (UpdatePrinter("p2", model="MK4S", maintenance=True), "k-p2"),
    (SetPrinterConnection("p2", "octoprint", "http://127.0.0.1:5001", KEY_2), None),
    (ReportPrinterState("p2", "error", "connected"), "~link-p2-1"),
    (CreateFilament("f1", "PLA", "Black", 1000, 1000, 100), None),
    (CreateFilament("f2", "PETG", "Red", 500, 500), None),
    (CreateFilament("f3", "ABS", "White", 10, 10), None),
    (DeleteFilament("f3"), None),
    (
        UpdateFilament("f2", color="Blue", remaining_weight_in_grams=450, low_stock_threshold_in_grams=400),
        None,
    ),
    (CreateJob("j1", "p1", "f1", 100, "benchy", 5, "benchy.gcode"), "k-j1"),
    (ReportPrinterState("p1", None, "connected"), "~link-p1-1"),
    (DispatchJob("j1", 3, 1), "~link-p1-2"),
    (ReportProgress("j1", 40, 20), None),
    (EndJobFromPrinter("j1", "Failed", "printer_error", 30, "OctoPrint refused the file"), "~link-p1-3"),
    (ClearBed("p1"), None),
    (RetryJob("j1", "j2"), "k-retry"),
    (CreateJob("j3", "p1", "f1", 50, "bracket", -3), None),
    (UpdateJob("j3", priority=7, details="bracket v2"), None),
    (SetJobStatus("j2", "Running"), None),
    (SetJobStatus("j2", "Done"), None),
    (CreateJob("j4", "p2", "f2", 80, "vase"), None),
    (UpdatePrinter("p2", maintenance=False), None),
    (ReportPrinterState("p2", None, "connected"), "~link-p2-2"),
    (SetJobStatus("j4", "Running"), None),
    (ReportProgress("j4", 10), None),
    (SetJobStatus("j4", "Paused"), None),
    (CreateJob("j5", "p1", "f2", 60, "clip"), None),
    (SetJobStatus("j5", "Cancelled", used_grams=0), None),
    (BootstrapAcl("t-admin", "first admin", hash_secret("pf_admin-secret")), None),
    (CreateToken("t-op", "operator", "operator", hash_secret("pf_operator-secret")), None),
    (CreateToken("t-view", "viewer", "viewer", hash_secret("pf_viewer-secret")), None),
    (RevokeToken("t-view"), None),
]

QUERIES: list[Query] = [
    *(GetPrinter(p) for p in ("p1", "p2", "p3")),
    ListPrinters(),
    ListPrinters(limit=1, offset=1),
    *(GetFilament(f) for f in ("f1", "f2", "f3")),
    ListFilaments(),
    *(GetJob(j) for j in ("j1", "j2", "j3", "j4", "j5")),
    ListJobs(),
    ListJobs(status="Queued"),
    ListJobs(printer_id="p1", limit=2),
    ListJobs(filament_id="f2"),
    *(GetPrinterQueue(p) for p in ("p1", "p2")),
    *(GetLedger(f) for f in ("f1", "f2")),
    GetStats(),
    ListTokens(),
    ConnectedPrinters(),
    PrinterLink("p1", "j1"),
    PrinterLink("p2"),
]


def answers(state: FarmState) -> list[Any]:
    return [state.query(query) for query in QUERIES]


def test_every_command_type_survives_a_snapshot() -> None:
    farm = Farm()
    for command, key in SCRIPT:
        outcome = farm.propose(command, key).outcome
        assert isinstance(outcome, Ok), (command, outcome)
    assert {type(command) for command, _ in SCRIPT} == set(_TAGS)  # a new command joins the script

    restored = Farm(FarmState.restore(farm.state.snapshot()))
    restored.index, restored.at_ms = farm.index, farm.at_ms
    assert answers(restored.state) == answers(farm.state)
    assert restored.state.snapshot() == farm.state.snapshot()

    # The restored state continues exactly like the original: retried keys answer as first time, and
    # new commands (a queue's order, a spool's reservations, a connection's report count) agree.
    for command, key in [*((c, k) for c, k in SCRIPT if k is not None), *NEXT]:
        assert restored.propose(command, key).outcome == farm.propose(command, key).outcome, command
    assert answers(restored.state) == answers(farm.state)


NEXT: list[tuple[Command, str | None]] = [
    (CreateJob("j6", "p1", "f1", 20, "hook", 7), None),
    (ReportPrinterState("p1", "offline", "unreachable"), "~link-p1-4"),
    (SetJobStatus("j4", "Running"), None),
    (ReportProgress("j4", 50, 40), None),
    (SetJobStatus("j4", "Failed", used_grams=45, reason="clog"), None),
]
