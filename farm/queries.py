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


@dataclass(frozen=True, slots=True)
class ListTokens:
    """The API tokens (never their hashes), in creation order."""
# --- asked only by the leader's printer connections (their answers carry API keys: never served over HTTP)


@dataclass(frozen=True, slots=True)
class ConnectedPrinters:
    """{printer id: (kind, url, api key)} for every printer with a connection."""


@dataclass(frozen=True, slots=True)
class PrinterLink:
    """What a printer's connection needs to decide (farm/links.py); `previous_job_id`: the job it followed
    last, reported back if it has ended since."""

    printer_id: str
    previous_job_id: str | None = None


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
    | ListTokens
    | ConnectedPrinters
    | PrinterLink
)

