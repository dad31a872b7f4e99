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


@dataclass(frozen=True, slots=True)
class UpdateFilament:
    id: str
    type: str | None = None
    color: str | None = None
    total_weight_in_grams: int | None = None
    remaining_weight_in_grams: int | None = None


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


@dataclass(frozen=True, slots=True)
class SetJobStatus:
    job_id: str
    status: str
    used_grams: int | None = None  # reported filament use on Cancelled / Failed


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


Command = (
    CreatePrinter
    | UpdatePrinter
    | DeletePrinter
    | CreateFilament
    | UpdateFilament
    | DeleteFilament
    | CreateJob
    | SetJobStatus
    | BootstrapAcl
    | CreateToken
    | RevokeToken
)
