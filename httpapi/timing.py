"""Times every request (routed or not) and reports it to the bridge's latency histogram."""

from __future__ import annotations

from time import perf_counter
from typing import Any

import falcon.asgi

from httpapi.bridge import Bridge

UNMATCHED_ROUTE = "unmatched"
OTHER_METHOD = "OTHER"
# Labels stay a small fixed set whatever a client sends as method or path.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class TimingMiddleware:
    def __init__(self, bridge: Bridge) -> None:
        self._observe = bridge.observe_request

    async def process_request(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        req.context.started = perf_counter()

    async def process_response(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, resource: Any, req_succeeded: bool
    ) -> None:
        # The route template, not the path: ids never become labels.
        method = req.method if req.method in _METHODS else OTHER_METHOD
        self._observe(
            method,
            req.uri_template or UNMATCHED_ROUTE,
            resp.status_code,
            perf_counter() - req.context.started,
        )
