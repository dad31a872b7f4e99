"""Queries: read-only questions asked of one node's copy of the farm state (after ReadIndex, or stale)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GetPrinter:
    id: str


@dataclass(frozen=True, slots=True)
class ListPrinters:
    limit: int | None = None
    offset: int = 0


@dataclass(frozen=True, slots=True)
class GetFilament:
    id: str


@dataclass(frozen=True, slots=True)
class ListFilaments:
    limit: int | None = None
    offset: int = 0


@dataclass(frozen=True, slots=True)
class GetJob:
    job_id: str


@dataclass(frozen=True, slots=True)
class ListJobs:
    status: str | None = None
    printer_id: str | None = None
    filament_id: str | None = None
    limit: int | None = None
    offset: int = 0


@dataclass(frozen=True, slots=True)
class GetPrinterQueue:
    """A printer's Queued jobs in the order they will run (priority descending, then oldest first)."""

    printer_id: str
    limit: int | None = None
    offset: int = 0


@dataclass(frozen=True, slots=True)
class GetLedger:
    """Every change of a spool's grams, oldest first."""

    filament_id: str
    limit: int | None = None
    offset: int = 0


@dataclass(frozen=True, slots=True)
class GetStats:
    pass


Query = (
    GetPrinter
    | ListPrinters
    | GetFilament
    | ListFilaments
    | GetJob
    | ListJobs
    | GetPrinterQueue
    | GetLedger
    | GetStats
)
