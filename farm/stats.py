"""Counters behind GET /api/v1/stats, kept up to date on apply so that a stats read costs O(printers).

Job and failure counts follow from the jobs (never deleted), so restore rebuilds them; grams consumed by
filament type cannot (a spool may be deleted or re-typed after it was used), so the snapshot keeps them.
"""

from __future__ import annotations

from typing import Any

from farm.lifecycle import FAILED, FAILURE_REASONS, PRINTER_STATUSES, STATUSES
from farm.records import Job, Printer


class Stats:
    __slots__ = ("consumed_by_type", "failure_reasons", "jobs")

    def __init__(self) -> None:
        self.jobs: dict[str, int] = dict.fromkeys(STATUSES, 0)
        self.failure_reasons: dict[str, int] = dict.fromkeys(FAILURE_REASONS, 0)
        # invariant: the sum of every consume entry ever written, by the spool's type when it was written
        self.consumed_by_type: dict[str, int] = {}

    def count(self, job: Job) -> None:
        """`job` was added, in its current status."""
        self.jobs[job.status] += 1
        if job.status == FAILED and job.failure_reason is not None:
            self.failure_reasons[job.failure_reason] += 1

    def moved(self, job: Job, previous: str) -> None:
        """`job` went from `previous` to its current status (and reason, if Failed)."""
        self.jobs[previous] -= 1
        self.count(job)

    def consumed(self, filament_type: str, grams: int) -> None:
        if grams:
            self.consumed_by_type[filament_type] = self.consumed_by_type.get(filament_type, 0) + grams

    def to_dict(self, printers: dict[str, Printer]) -> dict[str, Any]:
        by_status = dict.fromkeys(PRINTER_STATUSES, 0)
        for printer in printers.values():
            by_status[printer.status] += 1
        return {
            "jobs": dict(self.jobs),
            "failure_reasons": dict(self.failure_reasons),
            "grams_consumed": sum(self.consumed_by_type.values()),
            "grams_consumed_by_type": dict(sorted(self.consumed_by_type.items())),
            "printers": by_status,
        }
