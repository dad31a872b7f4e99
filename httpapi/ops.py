"""Operations endpoints: liveness, readiness, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

import falcon.asgi

from httpapi.bridge import Bridge
from httpapi.errors import Problem
from httpapi.jsonio import dumps
from httpapi.openapi import document
from httpapi.responses import JSON

_OK = dumps({"status": "ok"})
_READY = dumps({"status": "ready"})


class HealthResource:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.content_type = JSON
        resp.data = _OK

    on_head = on_get  # for probes that only look at the status


class ReadyResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        if not await self._bridge.caught_up():
            raise Problem(
                "not_ready",
                "This node does not know a leader or has not yet applied what the leader has committed.",
                headers={"Retry-After": "1"},
            )
        resp.content_type = JSON
        resp.data = _READY

    on_head = on_get


class MetricsResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        body, content_type = self._bridge.metrics()
        resp.content_type = content_type
        resp.data = body


class OpenApiResource:
    """Serves the document, built on the first request and kept."""

    def __init__(self) -> None:
        self._document: bytes | None = None

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        if self._document is None:
            self._document = dumps(document())
        resp.content_type = JSON
        resp.data = self._document
