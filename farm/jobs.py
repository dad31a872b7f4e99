"""Queueing print jobs and moving them along the status table, with the filament ledger in step."""

from __future__ import annotations

from farm import ledger
from farm.change import Change
from farm.commands import CreateJob, SetJobStatus
from farm.lifecycle import QUEUED, transition_refusal
from farm.records import Job, iso_ms
from farm.refusals import already_exists, not_found
from farm.results import Applied, Rejected
from farm.store import Store
from farm.transitions import EDGES


def create_job(store: Store, command: CreateJob, index: int, at_ms: int) -> Applied:
    return queue_job(
        store,
        index,
        at_ms,
        Job(
            command.job_id,
            command.printer_id,
            command.filament_id,
            command.print_weight_in_grams,
            QUEUED,
            command.details,
            iso_ms(at_ms),
            priority=command.priority,
        ),
    )


def queue_job(store: Store, index: int, at_ms: int, job: Job, id_field: str = "job_id") -> Applied:
    """Add `job` (Queued) reserving its weight, or refuse; creating and retrying a job both end here."""
    if job.job_id in store.jobs:
        return Applied(already_exists("job", job.job_id, id_field))
    printer = store.printers.get(job.printer_id)
    if printer is None:
        return Applied(Rejected("unknown_printer", f"printer {job.printer_id} does not exist", "printer_id"))
    filament = store.filaments.get(job.filament_id)
    if filament is None:
        return Applied(
            Rejected("unknown_filament", f"filament {job.filament_id} does not exist", "filament_id")
        )
    refusal = ledger.reservation_refusal(filament, job.weight)
    if refusal is not None:
        return Applied(refusal)
    change = Change(store, index, at_ms)
    change.reserve(filament, job.job_id, job.weight)
    store.add_job(job)
    data = job.to_dict()
    change.emit("job.created", data)
    return change.applied(data)


def set_job_status(store: Store, command: SetJobStatus, index: int, at_ms: int) -> Applied:
    job = store.jobs.get(command.job_id)
    if job is None:
        return Applied(not_found("job", command.job_id, "job_id"))
    previous, target = job.status, command.status
    reason = transition_refusal(job.job_id, previous, target)
    if reason is not None:
        return Applied(Rejected("invalid_transition", reason, "status"))
    guards, effects = EDGES[previous, target]
    for guard in guards:
        refusal = guard(store, job, command)
        if refusal is not None:
            return Applied(refusal)
    change = Change(store, index, at_ms)
    change.watch_printer(store.printers[job.printer_id])  # present: an active job's printer is never deleted
    job.status = target
    for effect in effects:
        effect(change, job, command)
    store.stats.moved(job, previous)
    data = job.to_dict()
    change.emit("job.status_changed", data)
    return change.applied(data)
