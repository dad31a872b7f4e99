"""A list without `limit` (the seed's "everything") streamed a slice at a time, and how many at once.

Each slice of SLICE objects is built, encoded and handed to the server, then the loop gets a turn: a list of
300k objects costs many short turns instead of one second-long stall, and uvicorn's flow control (send waits
while the client is slow) bounds what a list holds in memory to about one slice plus the socket's buffer. At
most MAX_FULL_LISTS such lists stream at once per node; one more is 503 too_many_full_lists with Retry-After.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from farm.views import RecordsView
from httpapi.jsonio import dumps

SLICE = 500
MAX_FULL_LISTS = 4
RETRY_AFTER_SECONDS = 2


class FullListPermits:
    """Counts the full lists streaming in this process (one node per process outside tests)."""

    def __init__(self, limit: int = MAX_FULL_LISTS) -> None:
        self.limit = limit
        self.in_use = 0
        self.refused = 0

    def try_take(self) -> bool:
        if self.in_use >= self.limit:
            self.refused += 1
            return False
        self.in_use += 1
        return True


PERMITS = FullListPermits()


class FullListBody:
    """resp.stream for a big list: `[`, the slices joined by commas, `]`. Gives its permit back once, when
    iterated to the end or abandoned (a body falcon never iterated is given back when collected)."""

    def __init__(self, view: RecordsView, permits: FullListPermits) -> None:
        self._view = view
        self._permits: FullListPermits | None = permits

    def _release(self) -> None:
        if self._permits is not None:
            self._permits.in_use -= 1
            self._permits = None

    def __del__(self) -> None:
        self._release()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            view = self._view
            separator = b"["
            for start in range(0, len(view), SLICE):
                items = view.slice(start, start + SLICE)
                if items:
                    yield separator + dumps(items)[1:-1]
                    separator = b","
                await asyncio.sleep(0)  # send() does not yield while the socket takes everything
            yield b"[]" if separator == b"[" else b"]"
        finally:
            self._view = RecordsView({}, ())  # the ids go as soon as the body is done
            self._release()
