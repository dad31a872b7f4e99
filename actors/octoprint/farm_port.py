"""NodeFarmPort: a connection's view of the farm and its proposals, through its node's own actors.

Views are read from this node's applied state (the connections run on the leader, which applies its own
writes in log order); proposals go through the bridge like any client write, with the connection's
idempotency key, so a retry, or a second leader reporting the same thing, applies once.
"""

from __future__ import annotations

import logging
from typing import Any

from actors.octoprint.mapping import PrintCounts
from actors.octoprint.reconcile import (
    Action,
    Dispatch,
    EndJob,
    FollowPrinter,
    JobView,
    PrinterView,
    Progress,
    ReportState,
)
from actors.state_machine import QueryAt, StateMachineActor
from farm.commands import (
    Command,
    DispatchJob,
    EndJobFromPrinter,
    ReportPrinterState,
    ReportProgress,
    SetJobStatus,
)
from farm.queries import ConnectedPrinters, GetStats, PrinterLink
from farm.results import Ok, Rejected
from httpapi.bridge import Bridge, BridgeError

log = logging.getLogger(__name__)

READ_TIMEOUT = 5.0


class NodeFarmPort:
    def __init__(self, state_machine: StateMachineActor, bridge: Bridge) -> None:
        self._sm = state_machine
        self._bridge = bridge

    async def caught_up(self) -> bool:
        """A linearizable read: true once this node, as leader, has applied every entry committed before
        its term (a new leader must not decide from a state that lacks its predecessor's last decisions)."""
        try:
            return isinstance(await self._bridge.read(GetStats(), "linearizable"), Ok)
        except BridgeError:
            return False

    async def connections(self) -> dict[str, tuple[str, str]]:
        outcome = await self._sm.ask(QueryAt(ConnectedPrinters(), 0), READ_TIMEOUT)
        assert isinstance(outcome, Ok)
        return {printer_id: (url, key) for printer_id, (_kind, url, key) in outcome.value.items()}

    async def view(self, printer_id: str, previous_job_id: str | None = None) -> PrinterView | None:
        outcome = await self._sm.ask(QueryAt(PrinterLink(printer_id, previous_job_id), 0), READ_TIMEOUT)
        if not isinstance(outcome, Ok) or outcome.value is None:
            return None
        value = outcome.value
        connection_state = value["connection_state"]
        reported = value["reported_state"] or ("operational" if connection_state is not None else None)
        return PrinterView(
            printer_id=printer_id,
            maintenance=value["maintenance"],
            bed_clear=value["bed_clear"],
            reported=reported,
            connection_state=connection_state,
            reported_version=value["reported_version"],
            active=_job(value["active"]),
            next_job=_job(value["next_job"]),
            last_ended=_job(value["last_ended"]),
        )

    async def propose(self, printer_id: str, action: Action) -> tuple[bool, str]:
        command, key = _command(printer_id, action)
        try:
            outcome = await self._bridge.write(command, key)
        except BridgeError as exc:  # no leader, timeout, stopping: the next poll decides again
            return False, f"{type(exc).__name__}: {exc}"
        if isinstance(outcome, Rejected):
            return False, f"{outcome.code}: {outcome.detail}"
        return True, ""


def _job(value: dict[str, Any] | None) -> JobView | None:
    if value is None:
        return None
    baseline = value["baseline"]
    return JobView(
        job_id=value["job_id"],
        status=value["status"],
        file=value["file"],
        weight=value["weight"],
        filament_type=value["filament_type"],
        progress=value["progress"],
        used=value["used"],
        baseline=None if baseline is None else PrintCounts(*baseline),
    )


def _command(printer_id: str, action: Action) -> tuple[Command, str]:
    if isinstance(action, ReportState):
        reported = None if action.reported == "operational" else action.reported
        return ReportPrinterState(printer_id, reported, action.connection_state), action.key
    if isinstance(action, Dispatch):
        baseline = action.baseline
        return DispatchJob(action.job_id, baseline.success, baseline.failure), action.key
    if isinstance(action, Progress):
        return ReportProgress(action.job_id, action.percent, action.used_grams), action.key
    if isinstance(action, EndJob):
        used = None if action.status == "Done" else action.used_grams
        detail = action.detail if action.status == "Failed" else None
        return EndJobFromPrinter(action.job_id, action.status, action.reason, used, detail), action.key
    if isinstance(action, FollowPrinter):
        return SetJobStatus(action.job_id, action.status), action.key
    raise TypeError(f"{type(action).__name__} is not proposed")
