"""A control client: GET /healthz every 20 ms on one node. The worst answer in a time window is how long that
node's event loop stood still then (the issue's yardstick: under 100 ms).

The polling runs in a process of its own (`python -m tests.support.stall_probe URL FILE`), so whatever the
test or benchmark does meanwhile (parsing big bodies, hundreds of event streams) cannot hold up the probe and
pass for a stall of the node. It appends `sent_at seconds` lines (CLOCK_MONOTONIC, shared by all processes).
"""

from __future__ import annotations

import http.client
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]


def poll(url: str, out: Path, interval: float = 0.02, timeout: float = 30.0) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    connection: http.client.HTTPConnection | None = None
    with out.open("a", buffering=1) as sink:
        while True:
            started = time.monotonic()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(host, port, timeout=timeout)
                connection.request("GET", "/healthz")
                connection.getresponse().read()
                sink.write(f"{started:.6f} {time.monotonic() - started:.6f}\n")
            except (OSError, http.client.HTTPException):
                sink.write(f"{started:.6f} -1\n")  # refused or reset: the node is not serving (restarting)
                if connection is not None:
                    connection.close()
                connection = None
            time.sleep(max(0.0, interval - (time.monotonic() - started)))


class StallProbe:
    def __init__(self, url: str) -> None:
        self._url = url
        self._file = Path(tempfile.mkstemp(prefix="stall-probe-", suffix=".txt")[1])
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> StallProbe:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.stall_probe", self._url, str(self._file)], cwd=REPO
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
        self._file.unlink(missing_ok=True)

    def _samples(self, since: float, until: float | None) -> list[float]:
        end = time.monotonic() if until is None else until
        samples = []
        for line in self._file.read_text().splitlines():
            sent, _, seconds = line.partition(" ")
            if seconds and since <= float(sent) <= end:
                samples.append(float(seconds))
        return samples

    def worst(self, since: float, until: float | None = None) -> float:
        """The slowest answer to a probe sent in [since, until] (monotonic seconds); refusals left out."""
        return max((s for s in self._samples(since, until) if s >= 0), default=0.0)

    def count(self, since: float, until: float | None = None) -> int:
        return sum(1 for s in self._samples(since, until) if s >= 0)


if __name__ == "__main__":
    poll(sys.argv[1], Path(sys.argv[2]))
