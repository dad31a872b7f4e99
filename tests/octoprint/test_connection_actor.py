"""A ConnectionActor against a real OctoPrint, with the farm side scripted: what it proposes, what it tells
OctoPrint, and that a wrong key or a dead URL costs few requests. (The real farm: tests/integration.)"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterator

import pytest

from actors.octoprint.client import node_limiter
from actors.octoprint.connection import ConnectionActor
from actors.octoprint.mapping import PrintCounts
from actors.octoprint.reconcile import Action, Dispatch, EndJob, JobView, PrinterView, Progress, ReportState
from tests.support.cluster import free_ports
from tests.support.octoprint import OctoPrint, make_gcode, require, running_octoprint

pytestmark = pytest.mark.integration

FILE = "part.gcode"


class ScriptedFarm:
    """Holds one PrinterView and applies the actor's proposals to it the simplest way the tests need."""

    def __init__(self, view: PrinterView) -> None:
        self.current = view
        self.proposed: list[Action] = []

    async def view(self, printer_id: str, previous_job_id: str | None = None) -> PrinterView | None:
        return self.current

    async def propose(self, printer_id: str, action: Action) -> tuple[bool, str]:
        self.proposed.append(action)
        view = self.current
        if isinstance(action, ReportState):
            self.current = dataclasses.replace(
                view,
                reported=action.reported,
                connection_state=action.connection_state,
                reported_version=view.reported_version + 1,
            )
        elif isinstance(action, Dispatch):
            assert view.next_job is not None
            job = dataclasses.replace(view.next_job, status="Running", baseline=action.baseline)
            self.current = dataclasses.replace(view, active=job, next_job=None)
        elif isinstance(action, Progress) and view.active is not None:
            job = dataclasses.replace(
                view.active,
                progress=action.percent if action.percent is not None else view.active.progress,
                used=action.used_grams if action.used_grams is not None else view.active.used,
            )
            self.current = dataclasses.replace(view, active=job)
        elif isinstance(action, EndJob) and view.active is not None:
            ended = dataclasses.replace(view.active, status=action.status)
            self.current = dataclasses.replace(view, active=None, last_ended=ended, bed_clear=False)
        return True, ""


def scripted_view(file: str | None = FILE) -> PrinterView:
    job = JobView("j1", "Queued", file, weight=20, filament_type="PLA")
    return PrinterView("p1", False, True, None, None, 0, None, job)


async def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, f"waited {timeout}s for {what}"
        await asyncio.sleep(0.05)


def kinds(farm: ScriptedFarm, kind: type) -> list:
    return [action for action in farm.proposed if isinstance(action, kind)]


async def follow_a_print(server: OctoPrint, file: str = FILE) -> tuple[ScriptedFarm, int, int]:
    farm = ScriptedFarm(scripted_view(file))
    actor = ConnectionActor("p1", server.url, server.api_key, farm, node_limiter(), interval=0.2)
    actor.start()
    try:
        await until(lambda: bool(kinds(farm, EndJob)), 60, "the job to end")
    finally:
        await actor.stop()
    return farm, actor.stats.polls, actor.stats.failures


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OctoPrint]:
    """One OctoPrint for this module's tests (each uses its own file names)."""
    require()
    with running_octoprint(tmp_path_factory.mktemp("octoprint")) as running:
        yield running


def test_it_dispatches_follows_and_ends_a_print_done(server: OctoPrint) -> None:
    server.upload(FILE, make_gcode(layers=10, extrude_per_move=100.0, feedrate=3000))
    farm, polls, failures = asyncio.run(asyncio.wait_for(follow_a_print(server), 90))
    assert server.prints(FILE) == {"success": 1, "failure": 0}
    assert polls > 3 and failures == 0
    [dispatch] = kinds(farm, Dispatch)
    assert dispatch.baseline == PrintCounts(0, 0)
    [end] = kinds(farm, EndJob)
    assert end.status == "Done"
    progress = kinds(farm, Progress)
    assert progress and [p.percent for p in progress if p.percent is not None] == sorted(
        p.percent for p in progress if p.percent is not None
    )
    assert kinds(farm, ReportState)[0].connection_state == "connected"


def test_a_missing_file_fails_the_job_with_printer_error(server: OctoPrint) -> None:
    farm, _, _ = asyncio.run(asyncio.wait_for(follow_a_print(server, "absent.gcode"), 60))
    [end] = kinds(farm, EndJob)
    assert (end.status, end.reason) == ("Failed", "printer_error")
    assert "absent.gcode" in end.detail and "no file" in end.detail


async def watch_failures(url: str, key: str, seconds: float) -> tuple[ScriptedFarm, int, int]:
    farm = ScriptedFarm(scripted_view())
    actor = ConnectionActor("p1", url, key, farm, node_limiter(), interval=0.2)
    actor.start()
    await asyncio.sleep(seconds)
    await actor.stop()
    return farm, actor.stats.polls, actor.stats.failures


def test_a_wrong_key_is_unauthorized_without_a_retry_storm(server: OctoPrint) -> None:
    farm, polls, failures = asyncio.run(watch_failures(server.url, "wrong-key", 3.0))
    assert polls == failures == 1  # then a 15 s pause
    [report] = kinds(farm, ReportState)
    assert (report.reported, report.connection_state) == ("offline", "unauthorized")
    assert not kinds(farm, Dispatch)


def test_a_dead_url_goes_offline_after_three_polls_with_backoff() -> None:
    url = f"http://127.0.0.1:{free_ports(1)[0]}"
    farm, polls, failures = asyncio.run(watch_failures(url, "k", 3.0))
    # polls at 0, 0.2, 0.6, 1.4, 3.0 s (backoff doubling from the 0.2 s interval): 4 or 5 in 3 s, not 15
    assert 3 <= polls <= 5 and failures == polls
    [report] = kinds(farm, ReportState)
    assert (report.reported, report.connection_state) == ("offline", "unreachable")


def test_a_job_decided_by_a_leader_that_died_before_telling_octoprint_is_printed_once(
    server: OctoPrint,
) -> None:
    server.upload("decided.gcode", make_gcode(layers=10, extrude_per_move=100.0, feedrate=3000))
    decided = JobView(
        "j9",
        "Running",
        "decided.gcode",
        weight=20,
        filament_type="PLA",
        progress=0,
        baseline=PrintCounts(0, 0),
    )
    farm = ScriptedFarm(PrinterView("p1", False, True, "operational", "connected", 4, decided, None))

    async def scenario() -> None:
        actor = ConnectionActor("p1", server.url, server.api_key, farm, node_limiter(), interval=0.2)
        actor.start()
        try:
            await until(lambda: bool(kinds(farm, EndJob)), 60, "the job to end")
        finally:
            await actor.stop()

    asyncio.run(asyncio.wait_for(scenario(), 90))
    assert [end.status for end in kinds(farm, EndJob)] == ["Done"]
    assert server.prints("decided.gcode") == {"success": 1, "failure": 0}
    assert not kinds(farm, Dispatch)  # the decision was already made: only the OctoPrint call is repeated


def test_octoprint_restarting_mid_print_fails_the_job_instead_of_printing_it_twice(server: OctoPrint) -> None:
    server.upload("restart.gcode", make_gcode(layers=40, extrude_per_move=10.0, dwell_ms=300))
    farm = ScriptedFarm(scripted_view("restart.gcode"))

    async def scenario() -> None:
        actor = ConnectionActor("p1", server.url, server.api_key, farm, node_limiter(), interval=0.2)
        actor.start()
        try:
            await until(lambda: any((p.percent or 0) >= 5 for p in kinds(farm, Progress)), 60, "progress")
            await asyncio.to_thread(server.kill)  # kill -9: the print is lost with the process
            await asyncio.to_thread(server.start)
            await asyncio.to_thread(server.wait_operational)
            await until(lambda: bool(kinds(farm, EndJob)), 60, "the job to end")
        finally:
            await actor.stop()

    asyncio.run(asyncio.wait_for(scenario(), 180))
    [end] = kinds(farm, EndJob)
    assert (end.status, end.reason) == ("Failed", "printer_error") and "restarted" in end.detail
    assert server.prints("restart.gcode")["success"] == 0
    assert server.state() == "Operational"  # not started again
    assert [r.connection_state for r in kinds(farm, ReportState)][-1] == "connected"
