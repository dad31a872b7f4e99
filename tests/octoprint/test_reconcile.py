"""One poll's decisions, from recorded OctoPrint answers and farm views: dispatch, following a print, the
leader-change cases, and who wins when the farm and the printer disagree."""

from __future__ import annotations

import dataclasses

from actors.octoprint.mapping import PrintCounts
from actors.octoprint.reconcile import (
    MAX_START_ATTEMPTS,
    START_SETTLE_POLLS,
    Dispatch,
    EndJob,
    FollowPrinter,
    JobView,
    Memory,
    PrinterView,
    Progress,
    ReportState,
    StartPrint,
    TellPrinter,
    decide,
    failed_poll,
)
from tests.octoprint.test_mapping import FILE, observed

ZERO = PrintCounts(0, 0)
QUEUED = JobView("j1", "Queued", FILE, weight=50, filament_type="PLA")
RUNNING = dataclasses.replace(QUEUED, status="Running", baseline=ZERO, progress=0)  # as the farm starts it


def printer(**changes: object) -> PrinterView:
    base = PrinterView(
        printer_id="p1",
        maintenance=False,
        bed_clear=True,
        reported="operational",
        connection_state="connected",
        reported_version=3,
        active=None,
        next_job=QUEUED,
    )
    return dataclasses.replace(base, **changes)


def of(kind: type, actions: list) -> list:
    return [action for action in actions if isinstance(action, kind)]


def test_an_idle_printer_with_a_clear_bed_starts_its_queue_head() -> None:
    actions = decide(printer(), observed("idle"), PrintCounts(2, 1), Memory())
    assert actions == [Dispatch("j1", FILE, PrintCounts(2, 1), "~octoprint/j1:start")]


def test_no_dispatch_without_a_clear_bed_a_file_an_idle_printer_or_out_of_maintenance() -> None:
    idle = observed("idle")
    assert not of(Dispatch, decide(printer(bed_clear=False), idle, ZERO, Memory()))
    assert not of(Dispatch, decide(printer(maintenance=True), idle, ZERO, Memory()))
    no_file = dataclasses.replace(QUEUED, file=None)
    assert not of(Dispatch, decide(printer(next_job=no_file), idle, ZERO, Memory()))
    assert not of(Dispatch, decide(printer(next_job=None), idle, ZERO, Memory()))
    # OctoPrint busy with something the farm did not start: report it, start nothing
    actions = decide(printer(next_job=QUEUED), observed("printing"), ZERO, Memory())
    assert not of(Dispatch, actions)
    assert of(ReportState, actions) == [
        ReportState("printing", "connected", "~octoprint/p1:reported:3:printing:connected")
    ]


def test_the_report_is_proposed_only_when_it_differs() -> None:
    assert not of(ReportState, decide(printer(), observed("idle"), ZERO, Memory()))
    actions = decide(
        printer(connection_state="unreachable", reported="offline"), observed("idle"), ZERO, Memory()
    )
    assert of(ReportState, actions)[0].connection_state == "connected"


def test_following_a_print_reports_progress_and_grams_once_per_value() -> None:
    view = printer(active=RUNNING, next_job=None, reported="printing")
    actions = decide(view, observed("printing"), ZERO, Memory())
    assert actions == [Progress("j1", 20, 2, "~octoprint/j1:progress:20:2")]
    already = dataclasses.replace(RUNNING, progress=20, used=2)
    assert (
        decide(
            printer(active=already, next_job=None, reported="printing"), observed("printing"), ZERO, Memory()
        )
        == []
    )


def test_octoprint_finishing_ends_the_job_done() -> None:
    view = printer(active=dataclasses.replace(RUNNING, progress=99, used=11), next_job=None)
    actions = decide(view, observed("finished"), PrintCounts(1, 0), Memory())
    [end] = of(EndJob, actions)
    assert (end.status, end.reason, end.key) == ("Done", None, "~octoprint/j1:end:Done")


def test_a_cancel_on_octoprint_ends_the_job_cancelled_with_the_grams_reported() -> None:
    view = printer(active=dataclasses.replace(RUNNING, progress=30, used=4), next_job=None)
    [end] = of(EndJob, decide(view, observed("cancelled"), PrintCounts(0, 1), Memory()))
    assert (end.status, end.used_grams) == ("Cancelled", 4)


def test_a_printer_error_fails_the_job_with_printer_error() -> None:
    view = printer(active=dataclasses.replace(RUNNING, progress=30, used=4), next_job=None)
    actions = decide(view, observed("error"), PrintCounts(0, 1), Memory())
    assert of(ReportState, actions)[0].reported == "error"
    [end] = of(EndJob, actions)
    assert (end.status, end.reason) == ("Failed", "printer_error") and "MINTEMP" in end.detail


def test_a_new_leader_adopts_a_print_under_way() -> None:
    view = printer(active=dataclasses.replace(RUNNING, progress=10), next_job=None, reported="printing")
    actions = decide(view, observed("printing"), ZERO, Memory())
    assert not of(StartPrint, actions) and not of(TellPrinter, actions)
    assert of(Progress, actions)[0].percent == 20


def test_a_new_leader_starts_a_decided_job_once_and_gives_up_after_a_few_attempts() -> None:
    view = printer(active=RUNNING, next_job=None)
    memory = Memory()
    calls = 0
    ended: list[EndJob] = []
    for _ in range((MAX_START_ATTEMPTS + 1) * START_SETTLE_POLLS):
        actions = decide(view, observed("idle"), ZERO, memory)
        calls += len(of(StartPrint, actions))
        ended += of(EndJob, actions)
        if ended:
            break
    assert calls == MAX_START_ATTEMPTS
    assert ended and ended[0].reason == "printer_error"


def test_a_decided_job_that_octoprint_already_printed_is_ended_not_started() -> None:
    view = printer(active=RUNNING, next_job=None)
    actions = decide(view, observed("finished"), PrintCounts(1, 0), Memory())
    assert not of(StartPrint, actions)
    assert of(EndJob, actions)[0].status == "Done"


def test_octoprint_losing_a_print_mid_way_fails_the_job_instead_of_printing_it_again() -> None:
    view = printer(active=dataclasses.replace(RUNNING, progress=40, used=5), next_job=None)
    actions = decide(view, observed("idle"), ZERO, Memory())
    assert not of(StartPrint, actions)
    [end] = of(EndJob, actions)
    assert (end.status, end.reason, end.used_grams) == ("Failed", "printer_error", 5)


def test_an_operator_pause_goes_to_octoprint_and_a_pause_on_the_printer_comes_back() -> None:
    running = dataclasses.replace(RUNNING, progress=20, used=2)
    paused = dataclasses.replace(running, status="Paused")
    memory = Memory()
    decide(printer(active=running, next_job=None), observed("printing"), ZERO, memory)
    # the operator paused in the farm: OctoPrint is told
    actions = decide(printer(active=paused, next_job=None), observed("printing"), ZERO, memory)
    assert actions[-1:] == [TellPrinter("pause", "j1")]
    # someone pressed resume on the printer: the farm follows
    decide(printer(active=paused, next_job=None), observed("paused"), ZERO, memory)
    actions = decide(printer(active=paused, next_job=None), observed("printing"), ZERO, memory)
    assert of(FollowPrinter, actions) == [
        FollowPrinter("j1", "Running", "~octoprint/j1:follow:Paused->Running:3")
    ]


def test_a_new_leader_carries_the_farms_status_to_octoprint() -> None:
    running = dataclasses.replace(RUNNING, progress=20, used=2)
    actions = decide(printer(active=running, next_job=None), observed("paused"), ZERO, Memory())
    assert of(TellPrinter, actions) == [TellPrinter("resume", "j1")]


def test_an_operator_cancel_goes_to_octoprint() -> None:
    cancelled = dataclasses.replace(RUNNING, status="Cancelled", progress=20, used=2)
    view = printer(active=None, next_job=None, last_ended=cancelled)
    assert of(TellPrinter, decide(view, observed("printing"), ZERO, Memory())) == [
        TellPrinter("cancel", "j1")
    ]
    assert not of(TellPrinter, decide(view, observed("idle"), ZERO, Memory()))


def test_failed_polls_report_offline_from_the_third_and_unauthorized_at_once() -> None:
    view = printer()
    assert failed_poll(view, 1, unauthorized=False) == []
    assert failed_poll(view, 2, unauthorized=False) == []
    [report] = failed_poll(view, 3, unauthorized=False)
    assert (report.reported, report.connection_state) == ("offline", "unreachable")
    [report] = failed_poll(view, 1, unauthorized=True)
    assert (report.reported, report.connection_state) == ("offline", "unauthorized")
    assert failed_poll(printer(reported="offline", connection_state="unreachable"), 5, False) == []


def test_a_job_an_operator_put_running_is_followed_but_never_started_or_ended() -> None:
    by_hand = dataclasses.replace(RUNNING, baseline=None)
    view = printer(active=by_hand, next_job=None)
    assert of(Progress, decide(view, observed("printing"), ZERO, Memory()))
    for stage, counts in (("idle", ZERO), ("finished", PrintCounts(5, 0)), ("cancelled", PrintCounts(0, 9))):
        actions = decide(view, observed(stage), counts, Memory())
        assert not of(StartPrint, actions) and not of(EndJob, actions), stage


def test_a_pause_right_after_dispatch_goes_to_octoprint_not_back_to_running() -> None:
    memory = Memory()
    decide(printer(), observed("idle"), ZERO, memory)  # the poll that dispatched: OctoPrint was idle
    paused = dataclasses.replace(RUNNING, status="Paused")
    actions = decide(printer(active=paused, next_job=None), observed("printing"), ZERO, memory)
    assert not of(FollowPrinter, actions)
    assert of(TellPrinter, actions) == [TellPrinter("pause", "j1")]


def test_a_second_pause_on_the_printer_at_the_same_progress_is_a_new_change() -> None:
    running = dataclasses.replace(RUNNING, progress=20, used=2)
    keys = []
    for version in (3, 5):  # each pause seen on the printer is reported first: the report count moves
        memory = Memory()
        view = printer(active=running, next_job=None, reported_version=version)
        decide(view, observed("printing"), ZERO, memory)
        [follow] = of(FollowPrinter, decide(view, observed("paused"), ZERO, memory))
        keys.append(follow.key)
    assert keys[0] != keys[1]


def test_octoprint_saying_offline_counts_from_the_third_poll() -> None:
    memory = Memory()
    offline = observed("idle")._replace(reported="offline", state_text="Offline")
    view = printer(next_job=None)
    assert decide(view, offline, None, memory) == []
    assert decide(view, offline, None, memory) == []
    [report] = decide(view, offline, None, memory)
    assert (report.reported, report.connection_state) == ("offline", "connected")
    assert decide(view, observed("idle"), None, memory) == [] and memory.offline_polls == 0
