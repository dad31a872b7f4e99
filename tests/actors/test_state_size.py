"""The state's size estimate and which writes the quota refuses."""

from __future__ import annotations

from actors.state_size import DRIFT_BYTES, ENTRY_WEIGHT, MEASURE_SPACING, QUOTA_SNAPSHOT_SPACING, StateSize
from farm.codec import encode_command
from farm.commands import (
    BootstrapAcl,
    CreateFilament,
    CreateJob,
    CreatePrinter,
    CreateToken,
    DeleteFilament,
    DeletePrinter,
    RevokeToken,
    SetJobStatus,
    UpdateFilament,
    UpdatePrinter,
)
from farm.quota import NOT_GROWING, may_grow


def test_the_estimate_is_exact_at_a_snapshot_and_an_upper_bound_between() -> None:
    size = StateSize(quota=1000)
    size.measured(400)
    size.applied(100)
    assert size.value == 400 + ENTRY_WEIGHT * 100
    assert not size.wants_snapshot(QUOTA_SNAPSHOT_SPACING)  # under the quota
    size.applied(300)
    assert size.value > 1000
    assert not size.wants_snapshot(QUOTA_SNAPSHOT_SPACING - 1) and size.wants_snapshot(QUOTA_SNAPSHOT_SPACING)
    size.measured(420)
    assert size.value == 420 and not size.wants_snapshot(10_000)
    assert not StateSize(None).wants_snapshot(10**9)


def test_an_estimate_that_drifted_far_from_the_last_measure_asks_for_a_snapshot() -> None:
    size = StateSize(quota=None)
    size.measured(100 * DRIFT_BYTES)
    size.applied(DRIFT_BYTES)
    assert not size.wants_snapshot(10**6)  # small next to the state
    size.measured(1000)
    size.applied(DRIFT_BYTES // ENTRY_WEIGHT)
    assert not size.wants_snapshot(10**6)
    size.applied(1)
    assert size.wants_snapshot(QUOTA_SNAPSHOT_SPACING) and not size.wants_snapshot(QUOTA_SNAPSHOT_SPACING - 1)


def test_a_refused_write_measures_at_most_every_few_seconds() -> None:
    size = StateSize(quota=10)
    assert not size.may_measure(100.0)  # nothing applied since the last snapshot
    size.applied(50)
    assert size.may_measure(100.0) and not size.may_measure(100.0 + MEASURE_SPACING / 2)
    assert size.may_measure(100.0 + MEASURE_SPACING)


def test_deletes_and_status_changes_pass_the_quota_everything_else_may_grow() -> None:
    growing = [
        CreatePrinter("p", "a", "b"),
        UpdatePrinter("p", "a"),
        CreateFilament("f", "PLA", "red", 10, 10),
        UpdateFilament("f", color="blue"),
        CreateJob("j", "p", "f", 1),
        BootstrapAcl("t", "n", "0" * 64),
        CreateToken("t", "n", "viewer", "0" * 64),
    ]
    shrinking = [DeletePrinter("p"), DeleteFilament("f"), SetJobStatus("j", "Done"), RevokeToken("t")]
    assert all(may_grow(encode_command(command)) for command in growing)
    assert not any(may_grow(encode_command(command)) for command in shrinking)
    assert {type(command) for command in shrinking} <= NOT_GROWING
    assert may_grow(b"") and may_grow(b"\xc0")


def test_a_printer_connection_finishes_work_in_progress_past_the_quota() -> None:
    """Past the quota an operator may still start, end and clear (SetJobStatus): a connected printer's own
    reports of the same things (its state, a dispatch, a job's end on OctoPrint) and clear-bed pass too, or
    a job that ended on the printer would stay Running in the farm until someone deletes enough."""
    from farm.codec import _TAGS
    from farm.commands import ClearBed, DispatchJob, EndJobFromPrinter, ReportPrinterState

    passing = [
        ReportPrinterState("p", "offline", "unreachable"),
        DispatchJob("j", 1, 0),
        EndJobFromPrinter("j", "Done"),
        ClearBed("p"),
    ]
    assert not any(may_grow(encode_command(command)) for command in passing)
    for cls, tag in _TAGS.items():  # the tag set and the class set say the same
        assert may_grow(bytes([0x91, tag])) == (cls not in NOT_GROWING), cls.__name__
