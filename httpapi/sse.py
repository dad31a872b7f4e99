"""Server-Sent Event frames as bytes: each applied change is encoded once and written as is to every stream.

A frame is `event: <type>`, `data: <json>` and, on the last event of a log index, `id: <index>`, then a blank
line. Two control events are ours:
- `event: reset`, data `{"oldest_index": N, "detail": ...}`: the resume point is older than what this node
  still keeps (or a snapshot replaced the entries in between); events before N are gone, so the client must
  re-read the state it mirrors. The stream goes on with the events from N.
- `event: dropped`, data `{"reason": "slow_consumer", "last_index": N, "detail": ...}`: the last frame of a
  stream that fell behind; reconnect with Last-Event-ID to resume.
"""

from __future__ import annotations

from typing import Any

from farm.results import Event
from httpapi.jsonio import dumps

KEEP_ALIVE = b": keep-alive\n\n"


def encode_event(event: Event) -> bytes:
    envelope = {"index": event.index, "type": event.type, "data": event.data}
    head = b"event: " + event.type.encode() + b"\ndata: " + dumps(envelope) + b"\n"
    if event.last_of_index:
        return head + b"id: " + str(event.index).encode() + b"\n\n"
    return head + b"\n"


def _control(kind: str, payload: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + dumps(payload) + b"\n\n"


def reset_frame(oldest_index: int) -> bytes:
    detail = (
        f"Events before index {oldest_index} are no longer kept by this node: re-read the state you mirror, "
        f"then follow this stream (it continues from index {oldest_index})."
    )
    return _control("reset", {"oldest_index": oldest_index, "detail": detail})


def dropped_frame(last_index: int) -> bytes:
    detail = (
        f"This stream fell too far behind and is closed; reconnect with Last-Event-ID {last_index} to resume."
    )
    return _control("dropped", {"reason": "slow_consumer", "last_index": last_index, "detail": detail})


class Frames:
    """What falcon's SSE loop needs from an event (truthy, `serialize()`), for bytes already encoded."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def serialize(self, handler: Any = None) -> bytes:
        return self.data
