"""uvicorn's httptools protocol with one socket write per response instead of two.

uvicorn writes a response's status line and headers in one transport.write() and its body in another; on
uvloop each is a send() system call made at once, holding the GIL, which was ~24% of the leader's loop
thread under write load. Here the protocol writes through a transport that gathers what one turn of the
event loop writes on a connection and hands it to the real transport in one call at the end of that turn
(a streamed response, such as the event stream, still goes out every turn it writes something).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """Delegates to `transport`, except that writes made in one loop turn leave together."""

    __slots__ = ("_flush_handle", "_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._flush_handle: asyncio.Handle | None = None

    def write(self, data: bytes) -> None:
        if not data:
            return
        self._pending.append(data)
        if self._flush_handle is None:
            self._flush_handle = self._loop.call_soon(self.flush)

    def flush(self) -> None:
        self._flush_handle = None
        pending, self._pending = self._pending, []
        if not pending or self._transport.is_closing():
            return
        self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        """What was written goes out first (a response followed by `connection: close`)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def coalescing(base: type[HttpToolsProtocol]) -> type[HttpToolsProtocol]:
    """`base` (uvicorn's httptools protocol or a subclass of it) writing through a CoalescingTransport;
    pass the result as uvicorn.Config(http=...)."""

    class Coalescing(base):  # type: ignore[valid-type, misc]
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(CoalescingTransport(transport, self.loop))

    Coalescing.__name__ = Coalescing.__qualname__ = f"Coalescing{base.__name__}"
    return Coalescing


CoalescingHttpToolsProtocol = coalescing(HttpToolsProtocol)
