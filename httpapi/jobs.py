"""/api/v1/print_jobs: create, list (with filters), get, and the seed's PUT .../status?status=S."""

from __future__ import annotations

import falcon.asgi

from farm.commands import CreateJob, SetJobStatus, UpdateJob
from farm.queries import GetJob, ListJobs
from farm.validation import MAX_WEIGHT, check_priority, check_reason, check_text
from httpapi import validation as v
from httpapi.bridge import Bridge
from httpapi.errors import invalid
from httpapi.responses import send_created, send_outcome, send_page

COLLECTION = "/api/v1/print_jobs"
_MISSING = object()


class JobsResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        params = req.params
        status = v.query(params, "status")
        limit, offset = v.paging(params)
        query = ListJobs(
            status=None if status is None else v.status_value(status),
            printer_id=v.query_id(params, "printer_id"),
            filament_id=v.query_id(params, "filament_id"),
            limit=limit,
            offset=offset,
        )
        send_page(resp, await self._bridge.read(query, v.consistency(params)))

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        body = await v.read_object(req)
        command = CreateJob(
            job_id=v.id_field(body, "job_id"),
            printer_id=v.id_field(body, "printer_id"),
            filament_id=v.id_field(body, "filament_id"),
            print_weight_in_grams=v.weight_field(body, "print_weight_in_grams"),
            details=v.text_field(body, "details", required=False, default=""),
            priority=v.checked_field(body, "priority", check_priority) or 0,
        )
        status = body.get("status", _MISSING)
        if status is not _MISSING and status != "Queued":
            raise invalid("status", "A new job's status must be Queued (or left out).")
        outcome = await self._bridge.write(command, v.idempotency_key(req))
        send_created(resp, outcome, COLLECTION, command.job_id)


class JobResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, job_id: str) -> None:
        v.path_id_exists_or_404(job_id, "print job")
        send_outcome(resp, await self._bridge.read(GetJob(job_id), v.consistency(req.params)))

    async def on_patch(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, job_id: str) -> None:
        body = await v.read_object(req)
        command = UpdateJob(
            job_id,
            priority=v.checked_field(body, "priority", check_priority),
            details=v.checked_field(body, "details", check_text),
        )
        key = v.idempotency_key(req)
        v.path_id_exists_or_404(job_id, "print job")
        send_outcome(resp, await self._bridge.write(command, key))


class JobStatusResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_put(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, job_id: str) -> None:
        params = req.params
        status = v.query(params, "status")
        if status is None:
            raise invalid(
                "status", "status is required (?status=Running, Paused, Done, Cancelled or Failed)."
            )
        reason = v.query(params, "reason")
        command = SetJobStatus(
            job_id,
            v.status_value(status),
            v.query_int(params, "used_grams", MAX_WEIGHT),
            None if reason is None else v.checked_field(params, "reason", check_reason),
        )
        if command.reason is not None and command.status != "Failed":
            raise invalid("reason", f"reason is given only with status=Failed, not {command.status}.")
        key = v.idempotency_key(req)
        v.path_id_exists_or_404(job_id, "print job")
        send_outcome(resp, await self._bridge.write(command, key))
