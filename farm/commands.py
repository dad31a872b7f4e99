"""Commands: the only ways the replicated farm state changes. Each becomes one log entry.

Shapes only: every rule about what a command means lives in farm/state.py.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CreatePrinter:
    id: str
    company: str
    model: str


@dataclass(frozen=True, slots=True)
class UpdatePrinter:
    id: str
    company: str | None = None
    model: str | None = None
    maintenance: bool | None = None


@dataclass(frozen=True, slots=True)
class DeletePrinter:
    id: str


@dataclass(frozen=True, slots=True)
class CreateFilament:
    id: str
    type: str
    color: str
    total_weight_in_grams: int
    remaining_weight_in_grams: int
    low_stock_threshold_in_grams: int | None = None


@dataclass(frozen=True, slots=True)
class UpdateFilament:
    id: str
    type: str | None = None
    color: str | None = None
    total_weight_in_grams: int | None = None
    remaining_weight_in_grams: int | None = None
    low_stock_threshold_in_grams: int | None = None


@dataclass(frozen=True, slots=True)
class DeleteFilament:
    id: str


@dataclass(frozen=True, slots=True)
class CreateJob:
    job_id: str
    printer_id: str
    filament_id: str
    print_weight_in_grams: int
    details: str = ""
    priority: int = 0


@dataclass(frozen=True, slots=True)
class SetJobStatus:
    job_id: str
    status: str
    used_grams: int | None = None  # reported filament use on Cancelled / Failed
    reason: str | None = None  # why it failed: only with Failed (farm.lifecycle.FAILURE_REASONS)


# --- the farm's workflow (API.md, "The farm's workflow"; handlers in farm/workflow.py) ---------------------


@dataclass(frozen=True, slots=True)
class ClearBed:
    """Someone took the last print off the printer's bed: it may start its next job."""

    printer_id: str


@dataclass(frozen=True, slots=True)
class UpdateJob:
    """PATCH of a job: its priority (only while Queued) and/or its details."""

    job_id: str
    priority: int | None = None
    details: str | None = None


@dataclass(frozen=True, slots=True)
class ReportProgress:
    """How far a Running or Paused job is, and how many grams it has used so far (either or both)."""

    job_id: str
    percent: int | None = None
    used_grams: int | None = None


@dataclass(frozen=True, slots=True)
class RetryJob:
    """A new Queued job `new_job_id` like Failed or Cancelled job `job_id`, reserving its filament again."""

    job_id: str
    new_job_id: str


Command = (
    CreatePrinter
    | UpdatePrinter
    | DeletePrinter
    | CreateFilament
    | UpdateFilament
    | DeleteFilament
    | CreateJob
    | SetJobStatus
    | ClearBed
    | UpdateJob
    | ReportProgress
    | RetryJob
)
