"""/api/v1/filaments: create, list, get, patch, delete."""

from __future__ import annotations

import falcon.asgi

from farm.commands import CreateFilament, DeleteFilament, UpdateFilament
from farm.queries import GetFilament, ListFilaments
from httpapi import validation as v
from httpapi.bridge import Bridge
from httpapi.responses import send_created, send_no_content, send_outcome, send_page

COLLECTION = "/api/v1/filaments"


class FilamentsResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        params = req.params
        limit, offset = v.paging(params)
        send_page(resp, await self._bridge.read(ListFilaments(limit, offset), v.consistency(params)))

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        body = await v.read_object(req)
        command = CreateFilament(
            id=v.id_field(body, "id"),
            type=v.text_field(body, "type"),
            color=v.text_field(body, "color"),
            total_weight_in_grams=v.weight_field(body, "total_weight_in_grams"),
            remaining_weight_in_grams=v.weight_field(body, "remaining_weight_in_grams"),
            low_stock_threshold_in_grams=v.weight_field(body, "low_stock_threshold_in_grams", required=False),
        )
        outcome = await self._bridge.write(command, v.idempotency_key(req))
        send_created(resp, outcome, COLLECTION, command.id)


class FilamentResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, filament_id: str) -> None:
        v.path_id_exists_or_404(filament_id, "filament")
        send_outcome(resp, await self._bridge.read(GetFilament(filament_id), v.consistency(req.params)))

    async def on_patch(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, filament_id: str) -> None:
        body = await v.read_object(req)
        command = UpdateFilament(
            id=filament_id,
            type=v.text_field(body, "type", required=False),
            color=v.text_field(body, "color", required=False),
            total_weight_in_grams=v.weight_field(body, "total_weight_in_grams", required=False),
            remaining_weight_in_grams=v.weight_field(body, "remaining_weight_in_grams", required=False),
            low_stock_threshold_in_grams=v.weight_field(body, "low_stock_threshold_in_grams", required=False),
        )
        key = v.idempotency_key(req)
        v.path_id_exists_or_404(filament_id, "filament")
        send_outcome(resp, await self._bridge.write(command, key))

    async def on_delete(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, filament_id: str) -> None:
        key = v.idempotency_key(req)
        v.path_id_exists_or_404(filament_id, "filament")
        send_no_content(resp, await self._bridge.write(DeleteFilament(filament_id), key))
