"""Queueing print jobs and moving them along the status table, with the filament ledger in step."""

from __future__ import annotations

from farm import ledger
from farm.commands import CreateJob, SetJobStatus
from farm.lifecycle import DONE, QUEUED, RUNNING, SETTLES_WITH_REPORTED_USE, TERMINAL, transition_refusal
from farm.records import Job, iso_ms
from farm.refusals import already_exists, not_found
from farm.results import Applied, Event, Ok, Rejected
from farm.store import Store


def create_job(store: Store, command: CreateJob, index: int, at_ms: int) -> Applied:
    if command.job_id in store.jobs:
        return Applied(already_exists("job", command.job_id, "job_id"))
    if command.printer_id not in store.printers:
        return Applied(
            Rejected("unknown_printer", f"printer {command.printer_id} does not exist", "printer_id")
        )
    filament = store.filaments.get(command.filament_id)
    if filament is None:
        return Applied(
            Rejected("unknown_filament", f"filament {command.filament_id} does not exist", "filament_id")
        )
    refusal = ledger.reservation_refusal(filament, command.print_weight_in_grams)
    if refusal is not None:
        return Applied(refusal)
    ledger.reserve(filament, command.print_weight_in_grams)
    job = Job(
        command.job_id,
        command.printer_id,
        command.filament_id,
        command.print_weight_in_grams,
        QUEUED,
        command.details,
        iso_ms(at_ms),
    )
    store.add_job(job)
    data = job.to_dict()
    return Applied(
        Ok(data),
        (
            Event(index, "job.created", data, last_of_index=False),
            Event(index, "filament.updated", filament.to_dict()),
        ),
    )


def set_job_status(store: Store, command: SetJobStatus, index: int, at_ms: int) -> Applied:
    job = store.jobs.get(command.job_id)
    if job is None:
        return Applied(not_found("job", command.job_id, "job_id"))
    target = command.status
    refusal = _refusal(store, job, target, command.used_grams)
    if refusal is not None:
        return Applied(refusal)
    job.status = target
    if target == RUNNING:
        if job.started_at is None:
            job.started_at = iso_ms(at_ms)
        store.occupy(job)
    elif target in TERMINAL:
        job.ended_at = iso_ms(at_ms)
        job.used = job.weight if target == DONE else (command.used_grams or 0)
        filament = store.filaments[job.filament_id]  # present: a spool with active jobs cannot be deleted
        ledger.settle(filament, job.weight, job.used)
        store.retire(job)
        data = job.to_dict()
        return Applied(
            Ok(data),
            (
                Event(index, "job.status_changed", data, last_of_index=False),
                Event(index, "filament.updated", filament.to_dict()),
            ),
        )
    data = job.to_dict()
    return Applied(Ok(data), (Event(index, "job.status_changed", data),))


def _refusal(store: Store, job: Job, target: str, used_grams: int | None) -> Rejected | None:
    reason = transition_refusal(job.job_id, job.status, target)
    if reason is not None:
        return Rejected("invalid_transition", reason, "status")
    if used_grams is not None:
        if target not in SETTLES_WITH_REPORTED_USE:
            return Rejected(
                "invalid_field",
                f"used_grams is reported only when a job becomes Cancelled or Failed, not {target}",
                "used_grams",
            )
        if used_grams > job.weight:
            return Rejected(
                "invalid_field",
                f"used_grams ({used_grams} g) exceeds job {job.job_id}'s print weight ({job.weight} g)",
                "used_grams",
            )
    if target == RUNNING:
        occupant = store.occupant_by_printer.get(job.printer_id)
        if occupant is not None and occupant != job.job_id:
            return Rejected(
                "printer_busy",
                f"printer {job.printer_id} is busy with job {occupant} ({store.jobs[occupant].status}); "
                f"a printer runs one job at a time, so job {job.job_id} cannot start",
            )
    return None
