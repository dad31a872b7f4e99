"""/api/v1/printers: create, list, get, patch, delete."""

from __future__ import annotations

import falcon.asgi

from farm.commands import CreatePrinter, DeletePrinter, UpdatePrinter
from farm.queries import GetPrinter, ListPrinters
from farm.validation import check_flag
from httpapi import validation as v
from httpapi.bridge import Bridge
from httpapi.responses import send_created, send_no_content, send_outcome, send_page

COLLECTION = "/api/v1/printers"


class PrintersResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        params = req.params
        limit, offset = v.paging(params)
        send_page(resp, await self._bridge.read(ListPrinters(limit, offset), v.consistency(params)))

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        body = await v.read_object(req)
        command = CreatePrinter(
            id=v.id_field(body, "id"),
            company=v.text_field(body, "company"),
            model=v.text_field(body, "model"),
        )
        outcome = await self._bridge.write(command, v.idempotency_key(req))
        send_created(resp, outcome, COLLECTION, command.id)


class PrinterResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, printer_id: str) -> None:
        v.path_id_exists_or_404(printer_id, "printer")
        send_outcome(resp, await self._bridge.read(GetPrinter(printer_id), v.consistency(req.params)))

    async def on_patch(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, printer_id: str) -> None:
        body = await v.read_object(req)
        command = UpdatePrinter(
            id=printer_id,
            company=v.text_field(body, "company", required=False),
            model=v.text_field(body, "model", required=False),
            maintenance=v.checked_field(body, "maintenance", check_flag),
        )
        key = v.idempotency_key(req)
        v.path_id_exists_or_404(printer_id, "printer")
        send_outcome(resp, await self._bridge.write(command, key))

    async def on_delete(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, printer_id: str) -> None:
        key = v.idempotency_key(req)
        v.path_id_exists_or_404(printer_id, "printer")
        send_no_content(resp, await self._bridge.write(DeletePrinter(printer_id), key))
