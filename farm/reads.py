"""Answering queries from one node's copy of the farm. Lists are ordered by id, then paged."""

from __future__ import annotations

from typing import Any

from farm import ledger
from farm.queries import (
    GetFilament,
    GetJob,
    GetLedger,
    GetPrinter,
    GetPrinterQueue,
    GetStats,
    ListFilaments,
    ListJobs,
    ListPrinters,
    Query,
)
from farm.refusals import not_found
from farm.results import Ok, Outcome, Page, Rejected
from farm.store import Store
from farm.validation import check_status


def answer(store: Store, query: Query) -> Outcome:
    kind = type(query)
    if kind is GetPrinter:
        printer = store.printers.get(query.id)
        return not_found("printer", query.id) if printer is None else Ok(printer.to_dict())
    if kind is GetFilament:
        filament = store.filaments.get(query.id)
        return not_found("filament", query.id) if filament is None else Ok(filament.to_dict())
    if kind is GetJob:
        job = store.jobs.get(query.job_id)
        return not_found("job", query.job_id, "job_id") if job is None else Ok(job.to_dict())
    if kind is ListPrinters:
        return _page(store.printers, store.sorted_ids("printers"), query.limit, query.offset)
    if kind is ListFilaments:
        return _page(store.filaments, store.sorted_ids("filaments"), query.limit, query.offset)
    if kind is ListJobs:
        return _list_jobs(store, query)
    if kind is GetPrinterQueue:
        printer = store.printers.get(query.printer_id)
        if printer is None:
            return not_found("printer", query.printer_id, "printer_id")
        ids = [job_id for _, _, job_id in printer.queue]
        return _page(store.jobs, ids, query.limit, query.offset)
    if kind is GetLedger:
        return _ledger(store, query)
    if kind is GetStats:
        return Ok(store.stats.to_dict(store.printers))
    return Rejected("malformed_query", f"{kind.__name__} is not a farm query")


def _list_jobs(store: Store, query: ListJobs) -> Outcome:
    if query.status is not None:
        refusal = check_status(query.status, "status")
        if refusal is not None:
            return refusal
    for field in ("printer_id", "filament_id"):
        value = getattr(query, field)
        if value is not None and type(value) is not str:
            return Rejected("invalid_field", f"{field} must be a string", field)
    ids = store.sorted_ids("jobs")
    if query.status is not None or query.printer_id is not None or query.filament_id is not None:
        jobs = store.jobs
        ids = [
            job_id
            for job_id in ids
            if (query.status is None or jobs[job_id].status == query.status)
            and (query.printer_id is None or jobs[job_id].printer_id == query.printer_id)
            and (query.filament_id is None or jobs[job_id].filament_id == query.filament_id)
        ]
    return _page(store.jobs, ids, query.limit, query.offset)


def _paging_refusal(limit: int | None, offset: int) -> Rejected | None:
    if limit is not None and (type(limit) is not int or limit < 0):
        return Rejected("invalid_field", f"limit must be a whole number >= 0, got {limit!r}", "limit")
    if type(offset) is not int or offset < 0:
        return Rejected("invalid_field", f"offset must be a whole number >= 0, got {offset!r}", "offset")
    return None


def _page(table: dict[str, Any], ids: list[str], limit: int | None, offset: int) -> Outcome:
    refusal = _paging_refusal(limit, offset)
    if refusal is not None:
        return refusal
    chosen = ids[offset:] if limit is None else ids[offset : offset + limit]
    return Ok(Page([table[object_id].to_dict() for object_id in chosen], len(ids)))


def _ledger(store: Store, query: GetLedger) -> Outcome:
    filament = store.filaments.get(query.filament_id)
    if filament is None:
        return not_found("filament", query.filament_id, "filament_id")
    entries = filament.ledger
    refusal = _paging_refusal(query.limit, query.offset)
    if refusal is not None:
        return refusal
    end = None if query.limit is None else query.offset + query.limit
    return Ok(Page([ledger.entry_to_dict(entry) for entry in entries[query.offset : end]], len(entries)))
