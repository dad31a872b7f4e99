"""Drive the ASGI app with hand-made events, for what falcon.testing rewrites (Content-Length, chunking)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RawExchange:
    status: int = 0
    headers: dict[bytes, bytes] = field(default_factory=dict)
    body: bytes = b""
    receive_calls: int = 0


def call(
    app: Any,
    method: str,
    path: str,
    headers: list[tuple[bytes, bytes]],
    chunks: list[bytes],
    *,
    query: bytes = b"",
    stay_connected: bool = False,
    timeout: float = 10.0,
) -> RawExchange:
    """One request; with `stay_connected` the client never disconnects: only the app can end it."""
    exchange = RawExchange()
    events = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)
    ]

    async def receive() -> dict:
        exchange.receive_calls += 1
        if events:
            return events.pop(0)
        if stay_connected:
            await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            exchange.status = message["status"]
            exchange.headers = dict(message["headers"])
        else:
            exchange.body += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8081),
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout))
    return exchange
