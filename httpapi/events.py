"""GET /api/v1/events: every applied change as a Server-Sent Event, resumable with Last-Event-ID.

Each event is `event: <type>`, `data: {"index", "type", "data"}`, and the last event of a log index carries
`id: <log index>` (an entry can emit several events; an id on an earlier one would let a client that resumes
from it skip the rest). Without Last-Event-ID (or
?after=) the stream starts after this node's applied index: live changes only. A resume point older than the
node's backlog gets `event: reset` first (httpapi/sse.py); a consumer that falls behind gets `event: dropped`
and the stream ends (it reconnects with its Last-Event-ID). Each node serves a bounded number of streams:
beyond it, 503 too_many_streams with Retry-After. A stream lasts only while its caller may still read: one
opened on an open cluster ends once access control is bootstrapped, one opened with a token once the token
is revoked (checked at each event and keep-alive, so within a heartbeat).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

import falcon.asgi

from httpapi import validation as v
from httpapi.access import bearer_secret
from httpapi.bridge import Bridge, BridgeError, EventStream
from httpapi.errors import invalid
from httpapi.sse import KEEP_ALIVE, Frames

_log = logging.getLogger(__name__)


class EventsResource:
    def __init__(self, bridge: Bridge, heartbeat_seconds: float) -> None:
        self._bridge = bridge
        self._heartbeat_seconds = heartbeat_seconds

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        after = self._start_index(req)
        stream = await self._bridge.open_events(after)  # TooManyStreams: 503 before any byte is sent
        resp.set_header("Cache-Control", "no-cache")
        resp.set_header("X-Accel-Buffering", "no")
        resp.sse = self._frames(stream, self._still_allowed(req))

    def _still_allowed(self, req: falcon.asgi.Request) -> Callable[[], bool]:
        """Whether the caller may still read (httpapi/access.py let it in): by this node's applied tokens."""
        tokens = self._bridge.tokens
        if not getattr(req.context, "checked", False):  # let in by an open cluster: only while it stays so
            return lambda: tokens().open
        secret = bearer_secret(req.get_header("Authorization"))  # any valid token may read the events
        return lambda: tokens().role_of(secret) is not None

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

    async def _frames(self, stream: EventStream, still_allowed: Callable[[], bool]) -> AsyncIterator[Frames]:
        # Frames come encoded once for every stream; a quiet stream sends keep-alive comments, which is also
        # how falcon notices a client that left.
        try:
            while True:
                try:
                    data = await stream.read(self._heartbeat_seconds)
                except BridgeError:
                    return  # the node stops: end the stream, the client resumes elsewhere or later
                if not still_allowed():
                    return  # bootstrapped or revoked since it opened: the client reconnects with a token
                if data is None:
                    yield Frames(KEEP_ALIVE)
                elif not data:
                    return
                else:
                    yield Frames(data)
        except Exception:
            _log.exception("the event stream failed")
        finally:
            stream.close()
