"""The farm's workflow routes (API.md, "The farm's workflow"): a printer's queue and clear-bed, a job's
progress and retry, a spool's ledger, the farm's stats. Responders only translate; the rules are farm/'s."""

from __future__ import annotations

import falcon.asgi

from farm.commands import ClearBed, ReportProgress, RetryJob
from farm.queries import GetLedger, GetPrinterQueue, GetStats
from farm.validation import check_percent, check_weight
from httpapi import validation as v
from httpapi.bridge import Bridge
from httpapi.errors import invalid
from httpapi.responses import send_created, send_no_content, send_outcome, send_page

JOBS = "/api/v1/print_jobs"


class PrinterQueueResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, printer_id: str) -> None:
        params = req.params
        limit, offset = v.paging(params)
        consistency = v.consistency(params)
        v.path_id_exists_or_404(printer_id, "printer")
        send_page(resp, await self._bridge.read(GetPrinterQueue(printer_id, limit, offset), consistency))


class ClearBedResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, printer_id: str) -> None:
        key = v.idempotency_key(req)
        v.path_id_exists_or_404(printer_id, "printer")
        send_no_content(resp, await self._bridge.write(ClearBed(printer_id), key))


class JobProgressResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_put(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, job_id: str) -> None:
        body = await v.read_object(req)
        percent = v.checked_field(body, "percent", check_percent)
        used_grams = v.checked_field(body, "used_grams", check_weight)
        if percent is None and used_grams is None:
            raise invalid("percent", "A progress report needs percent (0 to 100), used_grams, or both.")
        key = v.idempotency_key(req)
        v.path_id_exists_or_404(job_id, "print job")
        send_outcome(resp, await self._bridge.write(ReportProgress(job_id, percent, used_grams), key))


class JobRetryResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, job_id: str) -> None:
        body = await v.read_object(req)
        new_job_id = v.id_field(body, "job_id")
        key = v.idempotency_key(req)
        v.path_id_exists_or_404(job_id, "print job")
        outcome = await self._bridge.write(RetryJob(job_id, new_job_id), key)
        send_created(resp, outcome, JOBS, new_job_id)


class FilamentLedgerResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, filament_id: str) -> None:
        params = req.params
        limit, offset = v.paging(params)
        consistency = v.consistency(params)
        v.path_id_exists_or_404(filament_id, "filament")
        send_page(resp, await self._bridge.read(GetLedger(filament_id, limit, offset), consistency))


class StatsResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        outcome = await self._bridge.read(GetStats(), v.consistency(req.params))
        send_outcome(resp, outcome)
