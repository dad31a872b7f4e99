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
    # its OctoPrint connection, if created with one (farm/connections.py)
    connection_kind: str | None = None
    connection_url: str | None = None
    connection_api_key: str | None = None


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
    file: str | None = None  # a G-code file in the printer's OctoPrint local storage


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


@dataclass(frozen=True, slots=True)
class BootstrapAcl:
    """Switch access control on for the whole cluster with its first admin token (farm/tokens.py)."""

    token_id: str
    name: str
    token_hash: str  # SHA-256 of the secret, hex: the secret itself never enters the log


@dataclass(frozen=True, slots=True)
class CreateToken:
    token_id: str
    name: str
    role: str
    token_hash: str


@dataclass(frozen=True, slots=True)
class RevokeToken:
    token_id: str
# --- printer connections (API.md, "Printer connections (OctoPrint)"; handlers in farm/links.py) -------------


@dataclass(frozen=True, slots=True)
class SetPrinterConnection:
    """Connect a printer to its OctoPrint (kind, url, api_key), or disconnect it (all three None)."""

    printer_id: str
    kind: str | None = None
    url: str | None = None
    api_key: str | None = None


@dataclass(frozen=True, slots=True)
class ReportPrinterState:
    """What a printer's connection sees: `reported_state` one of farm.lifecycle.REPORTED_STATES or None
    (operational), `connection_state` connected / unreachable / unauthorized."""

    printer_id: str
    reported_state: str | None
    connection_state: str


@dataclass(frozen=True, slots=True)
class DispatchJob:
    """A connection starts its printer's queue head: Running, with the file's print counts on OctoPrint at
    the decision (how a later leader tells "not printed yet" from "printed since")."""

    job_id: str
    baseline_success: int
    baseline_failure: int


@dataclass(frozen=True, slots=True)
class EndJobFromPrinter:
    """OctoPrint ended (or refused) a job's print: the status change with the connection's words for why."""

    job_id: str
    status: str
    reason: str | None = None
    used_grams: int | None = None
    detail: str | None = None


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
    | BootstrapAcl
    | CreateToken
    | RevokeToken
    | SetPrinterConnection
    | ReportPrinterState
    | DispatchJob
    | EndJobFromPrinter
)

