"""Limits that keep a node's HTTP server serving under abuse, in uvicorn's httptools protocol.

- A request head (request line and headers) larger than `max_header_bytes` is answered 431 and the
  connection closed, counted on the raw bytes before the parser buffers them (httptools gathers a header
  value into one growing buffer: a 64 MiB header once froze a leader for seconds).
- A connection has `head_timeout` seconds to send a request head, from its first byte (or from accepting
  the connection); then it is answered 408 and closed. Between requests uvicorn's keep-alive timeout rules.
- Past `max_connections` open connections a new one is answered 503 and closed at once, so descriptors
  stay for the node's own files and sockets (file_limits() sets the cap below the process's limit).

Each refusal calls `on_refusal(reason)` (a metric); nothing here logs a request's content.
"""

from __future__ import annotations

import asyncio
import json
import resource
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEAD_END = b"\r\n\r\n"
FILE_RESERVE = 256  # descriptors kept for the node itself: WAL, snapshots, ZeroMQ, peers
MAX_SOFT_LIMIT = 1 << 20


@dataclass(frozen=True, slots=True)
class HttpLimits:
    max_header_bytes: int = 16 * 1024
    head_timeout: float = 10.0
    max_connections: int = 1024
    on_refusal: Callable[[str], None] = lambda reason: None


def file_limits(wanted_connections: int, reserve: int = FILE_RESERVE) -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard one where allowed; the connection cap that leaves `reserve`
    descriptors free. Returns (cap, soft limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = MAX_SOFT_LIMIT if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass  # not allowed: live with the soft limit
    if soft == resource.RLIM_INFINITY:
        soft = MAX_SOFT_LIMIT
    return max(1, min(wanted_connections, soft - reserve)), soft


def _problem(status: int, reason: str, code: str, title: str, detail: str) -> bytes:
    body = json.dumps(
        {"type": f"urn:printfarm:problem:{code}", "title": title, "status": status, "detail": detail,
         "code": code},
        separators=(",", ":"),
    ).encode()  # fmt: skip
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


def limited_protocol(
    limits: HttpLimits, base: type[HttpToolsProtocol] = HttpToolsProtocol
) -> type[HttpToolsProtocol]:
    """`base` (uvicorn's httptools protocol or a subclass) with `limits`, for uvicorn.Config(http=...)."""
    too_large = _problem(
        431, "Request Header Fields Too Large", "header_too_large", "Request header fields too large",
        f"The request line and headers exceed {limits.max_header_bytes} bytes.",
    )  # fmt: skip
    too_slow = _problem(
        408, "Request Timeout", "head_timeout", "Request timeout",
        f"The request line and headers did not arrive within {limits.head_timeout:g} s.",
    )  # fmt: skip
    too_many = _problem(
        503, "Service Unavailable", "too_many_connections", "Too many connections",
        "This node has as many open connections as it serves; retry shortly or use another node.",
    )  # fmt: skip
    refused = limits.on_refusal
    max_head = limits.max_header_bytes

    class LimitedHttpToolsProtocol(base):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._refused = False
            self._in_head = True  # waiting for (the rest of) a request head
            self._head_bytes = 0
            self._head_tail = b""  # the last bytes seen, for a HEAD_END split across reads
            self._head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            if len(self.connections) >= limits.max_connections:
                self._refused = True
                refused("too_many_connections")
                transport.write(too_many)
                transport.close()
                return
            super().connection_made(transport)
            self._arm_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_head_timer()
            if not self._refused or self.transport is not None:
                super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return
            if self._in_head:
                if self._head_bytes + len(data) > max_head and not self._head_ends_in_time(data):
                    self._refuse(too_large, "header_too_large")
                    return
                self._head_bytes += len(data)
                self._head_tail = data[-3:]
                if self._head_timer is None:
                    self._arm_head_timer()
            super().data_received(data)

        def _head_ends_in_time(self, data: bytes) -> bool:
            """Does the head end within the limit (a body may follow it in the same read)?"""
            allowed = max_head - self._head_bytes
            if allowed < 0:
                return False
            window = self._head_tail + data[: allowed + len(HEAD_END)]
            return HEAD_END in window

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_head = True

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._head_bytes = 0
            self._head_tail = b""
            self._disarm_head_timer()
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            # the next bytes start the next head; its clock starts with them (keep-alive rules until then)
            self._in_head = True

        def _arm_head_timer(self) -> None:
            self._disarm_head_timer()
            self._head_timer = self.loop.call_later(limits.head_timeout, self._head_timed_out)

        def _disarm_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self._in_head and not self._refused and self.transport is not None:
                self._refuse(too_slow, "head_timeout")

        def _refuse(self, answer: bytes, reason: str) -> None:
            self._refused = True
            self._disarm_head_timer()
            refused(reason)
            if not self.transport.is_closing():
                self.transport.write(answer)
                self.transport.close()

    return LimitedHttpToolsProtocol


class HandshakeTimeoutServer(uvicorn.Server):
    """uvicorn.Server whose TLS handshakes must finish within `handshake_timeout` seconds (asyncio's default
    is 60 s). A connection still in its handshake is not yet the HTTP protocol's, so --head-timeout cannot
    reach it; this bounds how long such a connection holds a descriptor. Only the path the node uses (its
    own listening sockets) is served here; anything else is uvicorn's own startup."""

    handshake_timeout: float | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        config = self.config
        if sockets is None or self.handshake_timeout is None or config.ssl is None:
            await super().startup(sockets)
            return
        await self.lifespan.startup()

        def create_protocol(_loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state=self.lifespan.state, _loop=_loop
            )

        loop = asyncio.get_running_loop()
        self.servers = [
            await loop.create_server(
                create_protocol,
                sock=sock,
                ssl=config.ssl,
                backlog=config.backlog,
                ssl_handshake_timeout=self.handshake_timeout,
            )
            for sock in sockets
        ]
        self.started = True
