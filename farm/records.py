"""The farm's entities as mutable records (the state machine owns them) and their JSON shapes.

Records are plain slotted classes rather than frozen dataclasses: apply() changes a job or a spool in place,
which keeps every command O(1). Nothing outside farm/ ever sees a record, only the dicts built here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

_EPOCH = datetime(1970, 1, 1)
MAX_AT_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last instant ISO 8601 writes in 4 digits


def iso_ms(at_ms: int) -> str:
    """`at_ms` (ms since the epoch, UTC) as ISO 8601 with milliseconds and a "Z"; arithmetic, no clock."""
    return (_EPOCH + timedelta(milliseconds=at_ms)).isoformat(timespec="milliseconds") + "Z"


class Printer:
    __slots__ = ("company", "id", "model")

    def __init__(self, id: str, company: str, model: str) -> None:
        self.id = id
        self.company = company
        self.model = model

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "company": self.company, "model": self.model}


class Filament:
    __slots__ = ("color", "id", "remaining", "reserved", "total", "type")

    def __init__(self, id: str, type: str, color: str, total: int, remaining: int, reserved: int = 0) -> None:
        self.id = id
        self.type = type
        self.color = color
        # invariant: 0 <= reserved <= remaining <= total; reserved = summed weight of the spool's active jobs
        self.total = total
        self.remaining = remaining
        self.reserved = reserved

    @property
    def available(self) -> int:
        return self.remaining - self.reserved

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "color": self.color,
            "total_weight_in_grams": self.total,
            "remaining_weight_in_grams": self.remaining,
            "reserved_weight_in_grams": self.reserved,
            "available_weight_in_grams": self.available,
        }


class Job:
    __slots__ = (
        "created_at",
        "details",
        "ended_at",
        "filament_id",
        "job_id",
        "printer_id",
        "started_at",
        "status",
        "used",
        "weight",
    )

    def __init__(
        self,
        job_id: str,
        printer_id: str,
        filament_id: str,
        weight: int,
        status: str,
        details: str,
        created_at: str,
        started_at: str | None = None,
        ended_at: str | None = None,
        used: int | None = None,
    ) -> None:
        self.job_id = job_id
        self.printer_id = printer_id
        self.filament_id = filament_id
        self.weight = weight
        self.status = status
        self.details = details
        # timestamps are formatted once, when stamped from the proposal's leader time (iso_ms)
        self.created_at = created_at
        self.started_at = started_at  # the first time it ran; a resume from Paused keeps it
        self.ended_at = ended_at
        self.used = used  # grams consumed, known once the job is terminal

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "printer_id": self.printer_id,
            "filament_id": self.filament_id,
            "print_weight_in_grams": self.weight,
            "status": self.status,
            "details": self.details,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "used_weight_in_grams": self.used,
        }
