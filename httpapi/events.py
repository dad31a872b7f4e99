"""GET /api/v1/events: every applied change as a Server-Sent Event, resumable with Last-Event-ID.

Each event is `event: <type>`, `data: {"index", "type", "data"}`, and the last event of a log index carries
`id: <log index>` (an entry can emit several events; an id on an earlier one would let a client that resumes
from it skip the rest). Without Last-Event-ID (or
?after=) the stream starts after this node's applied index: live changes only. When the node drops a consumer
that fell behind, the stream ends and the client reconnects with its Last-Event-ID.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import falcon.asgi
from falcon.asgi import SSEvent

from farm.results import Event
from httpapi import validation as v
from httpapi.bridge import Bridge, BridgeError
from httpapi.errors import invalid
from httpapi.jsonio import dumps

_END = object()
_log = logging.getLogger(__name__)


class EventsResource:
    def __init__(self, bridge: Bridge, heartbeat_seconds: float) -> None:
        self._bridge = bridge
        self._heartbeat_seconds = heartbeat_seconds

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        after = self._start_index(req)
        resp.set_header("Cache-Control", "no-cache")
        resp.set_header("X-Accel-Buffering", "no")
        resp.sse = self._stream(after)

    def _start_index(self, req: falcon.asgi.Request) -> int:
        after = v.query_int(req.params, "after", v.MAX_INDEX)  # checked even when the header wins
        header = req.get_header("Last-Event-ID")
        if header is not None:
            if not (header.isascii() and header.isdigit() and len(header) <= 18):
                raise invalid("Last-Event-ID", "Last-Event-ID must be a log index (a non-negative integer).")
            return int(header)
        if after is not None:
            return after
        return self._bridge.raft_status().applied_index

    async def _stream(self, after: int) -> AsyncIterator[SSEvent]:
        # A pump task reads the bridge so that a quiet stream can still send keep-alive comments (which is
        # also how a disconnected client is noticed); a queue of one keeps the bridge's slow-consumer rule.
        queue: asyncio.Queue[object] = asyncio.Queue(maxsize=1)
        pump = asyncio.create_task(self._pump(after, queue))
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), self._heartbeat_seconds)
                except TimeoutError:
                    yield SSEvent(comment="keep-alive")
                    continue
                if item is _END:
                    return
                event: Event = item  # type: ignore[assignment]
                envelope = {"index": event.index, "type": event.type, "data": event.data}
                event_id = str(event.index) if event.last_of_index else None
                yield SSEvent(data=dumps(envelope), event=event.type, event_id=event_id)
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump

    async def _pump(self, after: int, queue: asyncio.Queue[object]) -> None:
        try:
            async for event in self._bridge.events(after):
                await queue.put(event)
        except BridgeError:
            pass  # the node stops or drops us: end the stream, the client resumes elsewhere or later
        except Exception:
            _log.exception("the event stream failed")
        # Not reached when cancelled: the consumer has stopped and nobody would take the end marker.
        await queue.put(_END)
