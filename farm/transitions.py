"""The job status table (farm.lifecycle.TRANSITIONS) with what each allowed change checks and does.

Each edge lists its guards (each returns a refusal or None; the first refusal wins and nothing changes) and
its effects (run in order once every guard passed, with the job already in its new status). A rule about a
status change is a line in EDGES, never an `if` in a handler.
"""

from __future__ import annotations

from collections.abc import Callable

from farm.change import Change
from farm.commands import SetJobStatus
from farm.lifecycle import (
    CANCELLED,
    DONE,
    FAILED,
    OTHER_REASON,
    PAUSED,
    QUEUED,
    RUNNING,
    SETTLES_WITH_REPORTED_USE,
    TRANSITIONS,
)
from farm.records import Job, iso_ms
from farm.results import Rejected
from farm.store import Store

Guard = Callable[[Store, Job, SetJobStatus], "Rejected | None"]
Effect = Callable[[Change, Job, SetJobStatus], None]


# --- guards --------------------------------------------------------------------------------------------


def no_reported_use(store: Store, job: Job, command: SetJobStatus) -> Rejected | None:
    if command.used_grams is None:
        return None
    return Rejected(
        "invalid_field",
        f"used_grams is reported only when a job becomes Cancelled or Failed, not {command.status}"
        " (while it prints, report it with PUT .../progress)",
        "used_grams",
    )


def reported_use_fits(store: Store, job: Job, command: SetJobStatus) -> Rejected | None:
    if command.used_grams is not None and command.used_grams > job.weight:
        return Rejected(
            "invalid_field",
            f"used_grams ({command.used_grams} g) exceeds job {job.job_id}'s print weight ({job.weight} g)",
            "used_grams",
        )
    return None


def printer_free(store: Store, job: Job, command: SetJobStatus) -> Rejected | None:
    occupant = store.occupant_by_printer.get(job.printer_id)
    if occupant is None or occupant == job.job_id:
        return None
    return Rejected(
        "printer_busy",
        f"printer {job.printer_id} is busy with job {occupant} ({store.jobs[occupant].status}); "
        f"a printer runs one job at a time, so job {job.job_id} cannot start",
    )


def printer_available(store: Store, job: Job, command: SetJobStatus) -> Rejected | None:
    printer = store.printers[job.printer_id]  # present: a printer with active jobs cannot be deleted
    if printer.maintenance:
        why = "is in maintenance (PATCH it with maintenance false to take it back into service)"
    elif printer.reported_state is not None:
        why = f"is {printer.reported_state}, as its connection reports"
    else:
        return None
    return Rejected("printer_unavailable", f"printer {printer.id} {why}; job {job.job_id} cannot start")


def bed_is_clear(store: Store, job: Job, command: SetJobStatus) -> Rejected | None:
    if store.printers[job.printer_id].bed_clear:
        return None
    return Rejected(
        "bed_not_clear",
        f"printer {job.printer_id}'s bed still holds its last print; take it off and "
        f"POST /api/v1/printers/{job.printer_id}/clear-bed before job {job.job_id} can start",
    )


# --- effects -------------------------------------------------------------------------------------------


def start(change: Change, job: Job, command: SetJobStatus) -> None:
    change.store.dequeue(job)
    job.started_at = iso_ms(change.at_ms)
    job.progress = 0
    change.store.occupy(job)


def cancel_queued(change: Change, job: Job, command: SetJobStatus) -> None:
    change.store.dequeue(job)


def end(change: Change, job: Job, command: SetJobStatus) -> None:
    job.ended_at = iso_ms(change.at_ms)
    change.store.retire(job)


def consume_the_rest(change: Change, job: Job, command: SetJobStatus) -> None:
    """Done: the whole weight was used; what progress did not report yet is consumed now."""
    filament = change.store.filaments[job.filament_id]  # present: a spool with active jobs cannot be deleted
    change.consume(filament, job.job_id, job.weight - (job.used or 0))
    job.used = job.weight
    job.progress = 100


def settle_reported_use(change: Change, job: Job, command: SetJobStatus) -> None:
    """Cancelled / Failed: consume the larger of the two reports, release the rest of the reservation."""
    already = job.used or 0
    used = max(command.used_grams or 0, already)
    filament = change.store.filaments[job.filament_id]
    change.consume(filament, job.job_id, used - already)
    change.release(filament, job.job_id, job.weight - used)
    job.used = used


def record_reason(change: Change, job: Job, command: SetJobStatus) -> None:
    job.failure_reason = command.reason or OTHER_REASON


def dirty_bed(change: Change, job: Job, command: SetJobStatus) -> None:
    change.store.printers[job.printer_id].bed_clear = False


_STARTS = (no_reported_use, printer_free, printer_available, bed_is_clear)
_SETTLES = (reported_use_fits,)

EDGES: dict[tuple[str, str], tuple[tuple[Guard, ...], tuple[Effect, ...]]] = {
    (QUEUED, RUNNING): (_STARTS, (start,)),
    (QUEUED, CANCELLED): (_SETTLES, (cancel_queued, end, settle_reported_use)),
    (RUNNING, DONE): ((no_reported_use,), (end, consume_the_rest, dirty_bed)),
    (RUNNING, CANCELLED): (_SETTLES, (end, settle_reported_use)),
    (RUNNING, PAUSED): ((no_reported_use,), ()),
    (RUNNING, FAILED): (_SETTLES, (end, settle_reported_use, record_reason, dirty_bed)),
    (PAUSED, RUNNING): ((no_reported_use,), ()),  # a resume: it keeps its printer and its started_at
    (PAUSED, CANCELLED): (_SETTLES, (end, settle_reported_use)),
    (PAUSED, FAILED): (_SETTLES, (end, settle_reported_use, record_reason, dirty_bed)),
}

# every allowed change has exactly one edge (checked at import: a table that drifts fails loudly)
assert set(EDGES) == {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
assert all(((no_reported_use in g) != (b in SETTLES_WITH_REPORTED_USE)) for (_, b), (g, _) in EDGES.items())
