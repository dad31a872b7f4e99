"""The farm's workflow beyond the status table: clearing a bed, re-prioritizing a queued job, reporting
progress (and the grams used so far, consumed at once), retrying a failed or cancelled job."""

from __future__ import annotations

from farm.change import Change
from farm.commands import ClearBed, ReportProgress, RetryJob, UpdateJob
from farm.jobs import queue_job
from farm.lifecycle import OCCUPYING, QUEUED, SETTLES_WITH_REPORTED_USE
from farm.records import Job, iso_ms
from farm.refusals import not_found
from farm.results import Applied, Rejected
from farm.store import Store


def clear_bed(store: Store, command: ClearBed, index: int, at_ms: int) -> Applied:
    printer = store.printers.get(command.printer_id)
    if printer is None:
        return Applied(not_found("printer", command.printer_id, "printer_id"))
    change = Change(store, index, at_ms)
    change.watch_printer(printer)
    printer.bed_clear = True
    return change.applied(None)


def update_job(store: Store, command: UpdateJob, index: int, at_ms: int) -> Applied:
    job = store.jobs.get(command.job_id)
    if job is None:
        return Applied(not_found("job", command.job_id, "job_id"))
    if command.priority is not None and command.priority != job.priority and job.status != QUEUED:
        return Applied(
            Rejected(
                "not_queued",
                f"job {job.job_id} is {job.status}; its priority can change only while it is Queued",
                "priority",
            )
        )
    before = (job.priority, job.details)
    if command.priority is not None and command.priority != job.priority:
        store.reprioritize(job, command.priority)
    if command.details is not None:
        job.details = command.details
    change = Change(store, index, at_ms)
    data = job.to_dict()
    if before != (job.priority, job.details):
        change.emit("job.updated", data)
    return change.applied(data)


def report_progress(store: Store, command: ReportProgress, index: int, at_ms: int) -> Applied:
    job = store.jobs.get(command.job_id)
    if job is None:
        return Applied(not_found("job", command.job_id, "job_id"))
    refusal = _progress_refusal(job, command)
    if refusal is not None:
        return Applied(refusal)
    change = Change(store, index, at_ms)
    before = (job.progress, job.used)
    if command.percent is not None:
        job.progress = command.percent
    if command.used_grams is not None and command.used_grams != (job.used or 0):
        # usage as it happens: the increase is consumed at once, out of the job's own reservation
        filament = store.filaments[job.filament_id]  # present: a spool with active jobs cannot be deleted
        change.consume(filament, job.job_id, command.used_grams - (job.used or 0))
    if command.used_grams is not None:
        job.used = command.used_grams
    data = job.to_dict()
    if before != (job.progress, job.used):
        change.emit("job.progress", data)
    return change.applied(data)


def _progress_refusal(job: Job, command: ReportProgress) -> Rejected | None:
    if job.status not in OCCUPYING:
        return Rejected(
            "invalid_transition",
            f"job {job.job_id} is {job.status}; progress is reported only while it is Running or Paused",
            "status",
        )
    if command.percent is not None and command.percent < (job.progress or 0):
        return Rejected(
            "invalid_field",
            f"percent cannot go down: job {job.job_id} is already at {job.progress}%, got {command.percent}",
            "percent",
        )
    if command.used_grams is not None:
        if command.used_grams < (job.used or 0):
            return Rejected(
                "invalid_field",
                f"used_grams cannot go down: job {job.job_id} has already used {job.used} g, "
                f"got {command.used_grams}",
                "used_grams",
            )
        if command.used_grams > job.weight:
            return Rejected(
                "invalid_field",
                f"used_grams ({command.used_grams} g) exceeds job {job.job_id}'s "
                f"print weight ({job.weight} g)",
                "used_grams",
            )
    return None


def retry_job(store: Store, command: RetryJob, index: int, at_ms: int) -> Applied:
    original = store.jobs.get(command.job_id)
    if original is None:
        return Applied(not_found("job", command.job_id, "job_id"))
    if original.status not in SETTLES_WITH_REPORTED_USE:
        return Applied(
            Rejected(
                "invalid_transition",
                f"job {original.job_id} is {original.status}; only a Failed or Cancelled job can be retried",
                "status",
            )
        )
    retry = Job(
        command.new_job_id,
        original.printer_id,
        original.filament_id,
        original.weight,
        QUEUED,
        original.details,
        iso_ms(at_ms),
        priority=original.priority,
        retry_of=original.job_id,
        file=original.file,  # a connected printer dispatches only a job that names its file
    )
    return queue_job(store, index, at_ms, retry)
