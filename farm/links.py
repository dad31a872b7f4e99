"""Printer connections in the replicated state: their settings, what they report, and the two job changes a
connection makes (dispatching a queued job, ending a job as OctoPrint did). The answers to the queries the
leader's connections ask (ConnectedPrinters, PrinterLink) are here too; they carry the API key, so only the
node's own connections ask them, never the HTTP layer."""

from __future__ import annotations

from typing import Any

from farm.change import Change
from farm.commands import (
    CreatePrinter,
    DispatchJob,
    EndJobFromPrinter,
    ReportPrinterState,
    SetJobStatus,
    SetPrinterConnection,
)
from farm.jobs import set_job_status
from farm.lifecycle import QUEUED, RUNNING, TERMINAL
from farm.queries import ConnectedPrinters, PrinterLink
from farm.records import Job
from farm.refusals import not_found
from farm.results import Applied, Ok, Outcome, Rejected
from farm.store import Store


def connection_of(command: CreatePrinter) -> tuple[str, str, str] | None:
    if (
        command.connection_kind is None
        or command.connection_url is None
        or command.connection_api_key is None
    ):
        return None
    return (command.connection_kind, command.connection_url, command.connection_api_key)


def set_connection(store: Store, command: SetPrinterConnection, index: int, at_ms: int) -> Applied:
    printer = store.printers.get(command.printer_id)
    if printer is None:
        return Applied(not_found("printer", command.printer_id, "printer_id"))
    change = Change(store, index, at_ms)
    change.watch_printer(printer)
    before = printer.connection
    if command.kind is None or command.url is None or command.api_key is None:
        printer.connection = None
        printer.connection_state = None
        printer.reported_state = None  # nothing reports on it any more: it is what its jobs say
    else:
        printer.connection = (command.kind, command.url, command.api_key)
        if before is None or before[:2] != printer.connection[:2]:
            printer.connection_state = None  # a new OctoPrint: nothing known about it yet
    data = printer.to_dict()
    if before != printer.connection:
        change.emit("printer.updated", data)
    return change.applied(data)


def report_state(store: Store, command: ReportPrinterState, index: int, at_ms: int) -> Applied:
    printer = store.printers.get(command.printer_id)
    if printer is None:
        return Applied(not_found("printer", command.printer_id, "printer_id"))
    if printer.connection is None:
        return Applied(Rejected("not_connected", f"printer {printer.id} has no connection to report on"))
    change = Change(store, index, at_ms)
    change.watch_printer(printer)
    if (printer.reported_state, printer.connection_state) != (
        command.reported_state,
        command.connection_state,
    ):
        printer.reported_state = command.reported_state
        printer.connection_state = command.connection_state
        printer.reported_version += 1
    return change.applied(printer.to_dict())


def dispatch_job(store: Store, command: DispatchJob, index: int, at_ms: int) -> Applied:
    """The connection's start of its printer's queue head; the usual start rules (printer free, available,
    bed clear) are the status table's."""
    job = store.jobs.get(command.job_id)
    if job is None:
        return Applied(not_found("job", command.job_id, "job_id"))
    printer = store.printers[job.printer_id]  # present: a printer with queued jobs cannot be deleted
    if job.status != QUEUED or not printer.queue or printer.queue[0][2] != job.job_id:
        return Applied(
            Rejected(
                "not_next", f"job {job.job_id} ({job.status}) is not first in printer {printer.id}'s queue"
            )
        )
    if job.file is None:
        return Applied(
            Rejected("no_file", f"job {job.job_id} has no file for its printer's OctoPrint to print")
        )
    applied = set_job_status(store, SetJobStatus(job.job_id, RUNNING), index, at_ms)
    if type(applied.outcome) is Ok:
        job.dispatch_baseline = (command.baseline_success, command.baseline_failure)
    return applied


def end_job(store: Store, command: EndJobFromPrinter, index: int, at_ms: int) -> Applied:
    job = store.jobs.get(command.job_id)
    if job is None:
        return Applied(not_found("job", command.job_id, "job_id"))
    before = job.failure_detail
    if command.status == "Failed":
        job.failure_detail = command.detail  # set first so the answer and the event show it
    change = SetJobStatus(command.job_id, command.status, command.used_grams, command.reason)
    applied = set_job_status(store, change, index, at_ms)
    if type(applied.outcome) is not Ok:
        job.failure_detail = before
    return applied


# --- what the leader's connections ask --------------------------------------------------------------------


def answer(store: Store, query: ConnectedPrinters | PrinterLink) -> Outcome:
    if type(query) is ConnectedPrinters:
        return Ok(
            {
                printer.id: printer.connection
                for printer in store.printers.values()
                if printer.connection is not None
            }
        )
    printer = store.printers.get(query.printer_id)
    if printer is None or printer.connection is None:
        return Ok(None)
    previous = store.jobs.get(query.previous_job_id) if query.previous_job_id else None
    filament_types = {fid: f.type for fid, f in store.filaments.items()}
    head = store.jobs[printer.queue[0][2]] if printer.queue else None
    return Ok(
        {
            "printer_id": printer.id,
            "connection": printer.connection,
            "maintenance": printer.maintenance,
            "bed_clear": printer.bed_clear,
            "reported_state": printer.reported_state,
            "connection_state": printer.connection_state,
            "reported_version": printer.reported_version,
            "active": _job(printer.current_job, filament_types),
            "next_job": _job(head, filament_types),
            "last_ended": _job(previous, filament_types)
            if previous and previous.status in TERMINAL
            else None,
        }
    )


def _job(job: Job | None, filament_types: dict[str, str]) -> dict[str, Any] | None:
    if job is None:
        return None
    return {
        "job_id": job.job_id,
        "status": job.status,
        "file": job.file,
        "weight": job.weight,
        "filament_type": filament_types.get(job.filament_id, ""),
        "progress": job.progress,
        "used": job.used,
        "baseline": job.dispatch_baseline,
    }
