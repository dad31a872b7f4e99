"""Job statuses and the one table of allowed status changes (API.md, "Print jobs and filament")."""

from __future__ import annotations

QUEUED = "Queued"
RUNNING = "Running"
PAUSED = "Paused"
DONE = "Done"
CANCELLED = "Cancelled"
FAILED = "Failed"

STATUSES: tuple[str, ...] = (QUEUED, RUNNING, PAUSED, DONE, CANCELLED, FAILED)
ACTIVE: frozenset[str] = frozenset((QUEUED, RUNNING, PAUSED))  # these hold a filament reservation
TERMINAL: frozenset[str] = frozenset((DONE, CANCELLED, FAILED))
OCCUPYING: frozenset[str] = frozenset((RUNNING, PAUSED))  # at most one such job per printer
SETTLES_WITH_REPORTED_USE: frozenset[str] = frozenset((CANCELLED, FAILED))

TRANSITIONS: dict[str, tuple[str, ...]] = {
    QUEUED: (RUNNING, CANCELLED),
    RUNNING: (DONE, CANCELLED, PAUSED, FAILED),
    PAUSED: (RUNNING, CANCELLED, FAILED),
    DONE: (),
    CANCELLED: (),
    FAILED: (),
}


def transition_refusal(job_id: str, current: str, target: str) -> str | None:
    """Why `current -> target` is not allowed, as a sentence, or None when it is."""
    if target in TRANSITIONS[current]:
        return None
    if target == current:
        return f"job {job_id} is already {current}"
    if current in TERMINAL:
        return f"job {job_id} is {current}, a final status; it cannot change to {target}"
    if target == QUEUED:
        return f"job {job_id} is {current}; a job never goes back to Queued"
    allowed = " or ".join(TRANSITIONS[current])
    return f"job {job_id} cannot go from {current} to {target}; from {current} it can go to {allowed}"

# Why a job failed (API.md, "The farm's workflow"); a Failed job without a reason failed for OTHER_REASON.
FAILURE_REASONS: tuple[str, ...] = (
    "adhesion",
    "spaghetti",
    "clog",
    "runout",
    "layer_shift",
    "power_loss",
    "printer_error",
    "operator",
    "other",
)
OTHER_REASON = "other"
ENDS_ON_THE_BED: frozenset[str] = frozenset((DONE, FAILED))  # leave a print (or a mess) to take off the bed

# A printer's status, derived in this order of precedence (farm/records.py, Printer.status)
PRINTER_STATUSES: tuple[str, ...] = ("printing", "paused", "maintenance", "offline", "error", "idle")
REPORTED_STATES: frozenset[str] = frozenset(("offline", "error"))  # what a printer's connection may report

MIN_PRIORITY = -100
MAX_PRIORITY = 100
