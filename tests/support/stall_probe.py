"""A control client: GET /healthz every 20 ms on one node, from a thread. The worst answer in a time window
is how long that node's event loop stood still then (the issue's yardstick: under 100 ms)."""

from __future__ import annotations

import http.client
import threading
import time
from urllib.parse import urlsplit


class StallProbe:
    def __init__(self, url: str, interval: float = 0.02, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._interval = interval
        self._timeout = timeout
        self._samples: list[tuple[float, float]] = []  # (sent at, seconds to the answer)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"stall-probe-{self._port}", daemon=True)
        self.failures = 0

    def __enter__(self) -> StallProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(self._timeout + 1)

    def _run(self) -> None:
        connection: http.client.HTTPConnection | None = None
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
                connection.request("GET", "/healthz")
                response = connection.getresponse()
                response.read()
                self._samples.append((started, time.monotonic() - started))
            except (OSError, http.client.HTTPException):
                self.failures += 1
                if connection is not None:
                    connection.close()
                connection = None
            self._stop.wait(max(0.0, self._interval - (time.monotonic() - started)))
        if connection is not None:
            connection.close()

    def worst(self, since: float, until: float | None = None) -> float:
        """The slowest answer to a probe sent in [since, until] (monotonic seconds)."""
        end = time.monotonic() if until is None else until
        return max((seconds for sent, seconds in list(self._samples) if since <= sent <= end), default=0.0)

    def count(self, since: float, until: float | None = None) -> int:
        end = time.monotonic() if until is None else until
        return sum(1 for sent, _ in list(self._samples) if since <= sent <= end)
