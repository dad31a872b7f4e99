"""What the abuse tests share: a control client that measures a node's latency on its own keep-alive
connection while the node is attacked, the node's RSS, and its metrics."""

from __future__ import annotations

import http.client
import re
import threading
import time
from dataclasses import dataclass, field

from tests.support.cluster import Node


@dataclass
class ControlClient:
    """GET `path` every `interval` seconds on one keep-alive connection (opened before the attack, so a
    connection cap never refuses it); a request unanswered within `timeout` counts as a failure."""

    port: int
    path: str = "/healthz"
    interval: float = 0.02
    timeout: float = 3.0
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        self._get()  # connect now
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ControlClient:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._connection.close()

    def _get(self) -> None:
        self._connection.request("GET", self.path)
        reply = self._connection.getresponse()
        reply.read()
        if reply.status != 200:
            raise RuntimeError(f"status {reply.status}")

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                self._get()
            except Exception as exc:  # any failure to answer is what we count
                self.failures.append(f"{type(exc).__name__}: {exc}")
                self._connection.close()
                self._connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            else:
                self.latencies.append(time.perf_counter() - started)
            self._stop.wait(self.interval)

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    def summary(self) -> str:
        return (
            f"control client: {len(self.latencies)} answers, {len(self.failures)} failures, "
            f"p50 {self.quantile(0.5) * 1000:.1f} ms, p99 {self.quantile(0.99) * 1000:.1f} ms, "
            f"max {max(self.latencies, default=0) * 1000:.1f} ms"
        )


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def metric(node: Node, name: str, **labels: str) -> float:
    """The value of one series of the node's /metrics (0 if absent)."""
    text = node.get("/metrics").text
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(re.search(rf'{key}="{re.escape(value)}"', line) for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
