"""The farm's entities as mutable records (the state machine owns them) and their JSON shapes.

Records are plain slotted classes rather than frozen dataclasses: apply() changes a job or a spool in place,
which keeps every command O(1). Nothing outside farm/ ever sees a record, only the dicts built here.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from typing import Any

import msgpack

from farm.connections import shown

_EPOCH = datetime(1970, 1, 1)
MAX_AT_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last instant ISO 8601 writes in 4 digits


def iso_ms(at_ms: int) -> str:
    """`at_ms` (ms since the epoch, UTC) as ISO 8601 with milliseconds and a "Z"; arithmetic, no clock.

    One command stamps several things with its one time (a job's ended_at, its ledger entries' at), so the
    last answer is remembered: a pure function's memo, the same on every node."""
    global _last_iso
    last = _last_iso  # one read: the pair is replaced whole, never changed in place
    if last[0] == at_ms:
        return last[1]
    text = (_EPOCH + timedelta(milliseconds=at_ms)).isoformat(timespec="milliseconds") + "Z"
    _last_iso = (at_ms, text)
    return text


_last_iso: tuple[int, str] = (-1, "")


def decode_ledger(blob: bytes | bytearray, start: int = 0) -> list[Any]:
    """Ledger entries (farm/ledger.py) encoded back to back from byte `start` on, as tuples."""
    if start >= len(blob):
        return []
    if start:  # a command's new entries, usually one: one C call, 4x cheaper than setting up an Unpacker
        try:
            return [msgpack.unpackb(memoryview(blob)[start:], raw=False, use_list=False)]
        except msgpack.ExtraData:
            pass
    unpacker = msgpack.Unpacker(raw=False, use_list=False, max_buffer_size=max(len(blob) - start, 1))
    unpacker.feed(memoryview(blob)[start:])
    return list(unpacker)


class Printer:
    __slots__ = (
        "bed_clear",
        "company",
        "connection",
        "connection_state",
        "current_job",
        "id",
        "maintenance",
        "model",
        "queue",
        "reported_state",
        "reported_version",
    )

    def __init__(
        self,
        id: str,
        company: str,
        model: str,
        maintenance: bool = False,
        bed_clear: bool = True,
        reported_state: str | None = None,
        connection: tuple[str, str, str] | None = None,
        connection_state: str | None = None,
        reported_version: int = 0,
    ) -> None:
        self.id = id
        # interned: a farm has many printers of few makes and models, each name one string for all of them
        self.company = sys.intern(company)
        self.model = sys.intern(model)
        self.maintenance = maintenance
        self.bed_clear = bed_clear  # false once a job on it ends Done or Failed, until clear-bed
        # what its connection last reported that the farm cannot know itself: "offline", "error" or None
        self.reported_state = reported_state
        # (kind, url, api key) of its OctoPrint connection (farm/connections.py); reads mask the key
        self.connection = connection
        self.connection_state = connection_state  # connected / unreachable / unauthorized, None unconnected
        self.reported_version = reported_version  # reports applied so far: keys a report to the state it saw
        # Indexes kept by the Store (farm/store.py), never stored in a snapshot:
        # invariant: its Running or Paused job, or None (the same job as Store.occupant_by_printer names)
        self.current_job: Job | None = None
        # invariant: its Queued jobs' (-priority, sequence, job_id), sorted: the order they will run in
        self.queue: list[tuple[int, int, str]] = []

    @property
    def status(self) -> str:
        """Derived, in API.md's order of precedence (farm.lifecycle.PRINTER_STATUSES)."""
        job = self.current_job
        if job is not None:
            return "printing" if job.status == "Running" else "paused"
        if self.maintenance:
            return "maintenance"
        return self.reported_state or "idle"

    def view_key(self) -> tuple[Any, ...]:
        """What a printer.updated event reports a change of (the queue length alone is not one)."""
        return (self.status, self.current_job, self.maintenance, self.bed_clear, self.connection_state)

    def to_dict(self) -> dict[str, Any]:
        job = self.current_job
        return {
            "id": self.id,
            "company": self.company,
            "model": self.model,
            "status": self.status,
            "current_job_id": None if job is None else job.job_id,
            "queue_length": len(self.queue),
            "maintenance": self.maintenance,
            "bed_clear": self.bed_clear,
            "connection": None if self.connection is None else shown(*self.connection[:2]),
            "connection_state": self.connection_state,
        }


class Filament:
    __slots__ = (
        "color",
        "id",
        "ledger_blob",
        "low_stock_threshold",
        "remaining",
        "reserved",
        "total",
        "type",
    )

    def __init__(
        self,
        id: str,
        type: str,
        color: str,
        total: int,
        remaining: int,
        reserved: int = 0,
        low_stock_threshold: int | None = None,
    ) -> None:
        self.id = id
        self.type = sys.intern(type)  # interned, as a printer's company and model
        self.color = sys.intern(color)
        # invariant: 0 <= reserved <= remaining <= total; reserved = summed weight of the spool's active jobs
        # minus what those jobs already consumed
        self.total = total
        self.remaining = remaining
        self.reserved = reserved
        self.low_stock_threshold = low_stock_threshold
        # invariant: every change of remaining/reserved, oldest first, as farm.ledger entries whose
        # after-values chain to (remaining, reserved), msgpack-encoded back to back as the snapshot stores
        # them; written only by farm/ledger.py. Only the bytes are kept (bytes after a restore, a bytearray
        # once appended to): as tuples the entries cost ~0.3 KiB per spool, and they are read rarely (the
        # ledger's pages, a command's new entries, a restore's check), each time decoded (`ledger`).
        self.ledger_blob: bytes | bytearray = b""

    @property
    def ledger(self) -> list[tuple[int, int, int, str | None, int, int, int, int]]:
        """The entries, decoded afresh from ledger_blob (a copy: changing it changes nothing)."""
        return decode_ledger(self.ledger_blob)

    @property
    def available(self) -> int:
        return self.remaining - self.reserved

    @property
    def low_stock(self) -> bool:
        threshold = self.low_stock_threshold
        return threshold is not None and self.remaining - self.reserved < threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "color": self.color,
            "total_weight_in_grams": self.total,
            "remaining_weight_in_grams": self.remaining,
            "reserved_weight_in_grams": self.reserved,
            "available_weight_in_grams": self.available,
            "low_stock_threshold_in_grams": self.low_stock_threshold,
            "low_stock": self.low_stock,
        }


class Job:
    __slots__ = (
        "created_at",
        "details",
        "dispatch_baseline",
        "ended_at",
        "failure_detail",
        "failure_reason",
        "filament_id",
        "file",
        "job_id",
        "printer_id",
        "priority",
        "progress",
        "retry_of",
        "sequence",
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
        priority: int = 0,
        progress: int | None = None,
        failure_reason: str | None = None,
        retry_of: str | None = None,
        file: str | None = None,
        dispatch_baseline: tuple[int, int] | None = None,
        failure_detail: str | None = None,
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
        # grams consumed: null until reported (PUT .../progress) or the job ends; final once it is terminal
        self.used = used
        self.priority = priority  # -100..100; its place in its printer's queue while Queued
        self.progress = progress  # percent, 0..100, null before it first runs
        self.failure_reason = failure_reason  # one of farm.lifecycle.FAILURE_REASONS once Failed, else null
        self.retry_of = retry_of
        self.file = file  # a G-code file in its printer's OctoPrint local storage, or None
        # its file's (successful, failed) print counts on OctoPrint when a connection dispatched it
        self.dispatch_baseline = dispatch_baseline
        self.failure_detail = failure_detail  # why, in words, when its printer's connection failed it
        self.sequence = 0  # creation order, given by Store.add_job: the queue's tie-breaker (oldest first)

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
            "priority": self.priority,
            "progress_percent": self.progress,
            "failure_reason": self.failure_reason,
            "retry_of": self.retry_of,
            "file": self.file,
            "failure_detail": self.failure_detail,
        }
