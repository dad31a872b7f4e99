"""One node's Prometheus metrics, in a registry of its own (several nodes may share a test process)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class NodeMetrics:
    def __init__(self, node_id: str) -> None:
        disable_created_metrics()  # *_created series only add noise to every scrape
        self.registry = CollectorRegistry(auto_describe=True)
        self._node_id = node_id
        self.term = self._one(Gauge, "printfarm_raft_term", "Current Raft term")
        self.commit_index = self._one(Gauge, "printfarm_raft_commit_index", "Highest index known committed")
        self.applied_index = self._one(Gauge, "printfarm_raft_applied_index", "Highest index applied")
        self.is_leader = self._one(Gauge, "printfarm_raft_is_leader", "1 while this node leads")
        self.leader_changes = self._one(
            Counter, "printfarm_raft_leader_changes", "Changes of the known leader"
        )
        self.proposals = self._one(Counter, "printfarm_raft_proposals", "Entries proposed here as leader")
        self.snapshots = self._one(Counter, "printfarm_snapshots", "Snapshots taken of the farm state")
        self.forwarded = self._one(
            Counter, "printfarm_forwarded_requests", "Requests forwarded to the leader"
        )
        self.fsync_seconds = self._one(
            Histogram, "printfarm_storage_fsync_seconds", "Duration of each fsync", buckets=_LATENCY_BUCKETS
        )
        self._requests = Histogram(
            "printfarm_http_request_seconds",
            "HTTP request latency",
            ["node_id", "method", "route", "status"],
            registry=self.registry,
            buckets=_LATENCY_BUCKETS,
        )
        self._request_children: dict[tuple[str, str, int], Any] = {}

        # the front door (httpapi/access.py, actors/http_limits.py): refusals by reason, never by caller
        self._refused = Counter(
            "printfarm_http_refused",
            "Requests and connections refused by access control or a limit, by reason",
            ["node_id", "reason"],
            registry=self.registry,
        )
        self.state_bytes = self._one(
            Gauge, "printfarm_state_bytes", "Size of the replicated state: last snapshot plus entries since"
        )
        self.http_connections = self._one(Gauge, "printfarm_http_connections", "Open HTTP connections")
        self.http_connection_limit = self._one(
            Gauge, "printfarm_http_connection_limit", "Open HTTP connections allowed"
        )

    def refused(self, reason: str) -> None:
        self._refused.labels(self._node_id, reason).inc()

    def _one(self, kind: Any, name: str, help_text: str, **kwargs: Any) -> Any:
        return kind(name, help_text, ["node_id"], registry=self.registry, **kwargs).labels(self._node_id)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        child = self._request_children.get(key)
        if child is None:  # labels() takes a lock and builds a tuple: once per series is enough
            child = self._requests.labels(self._node_id, method, route, str(status))
            self._request_children[key] = child
        child.observe(seconds)

    def observe_fsync(self, seconds: float) -> None:
        self.fsync_seconds.observe(seconds)

    def track_peer_drops(self, read: Callable[[], dict[str, int]]) -> None:
        """Peer drop counts are read from the transport when scraped, as the counter
        printfarm_peer_frames_dropped_total{reason=...} (reason: the transport's dropped_* field)."""
        self.registry.register(_PeerDrops(self._node_id, read))

    def track_event_streams(self, fanout: Any) -> None:
        """The event fan-out's figures (actors/event_fanout.py), read when scraped."""
        streams = self._one(Gauge, "printfarm_event_streams", "Event streams open on this node")
        streams.set_function(lambda: fanout.streams)
        backlog = self._one(Gauge, "printfarm_event_backlog_bytes", "Bytes of encoded events kept for resume")
        backlog.set_function(lambda: fanout.backlog_size)
        for name, help_text in (
            ("refused", "Event streams refused at the cap (503 too_many_streams)"),
            ("dropped", "Event streams closed because they fell behind"),
            ("resets", "Event streams told to re-read (resume point older than the backlog)"),
        ):
            gauge = self._one(Gauge, f"printfarm_event_streams_{name}", help_text)
            gauge.set_function(lambda name=name: getattr(fanout.stats, name))

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _PeerDrops:
    """A collector: the transport's own counts, read at scrape time (no double bookkeeping)."""

    def __init__(self, node_id: str, read: Callable[[], dict[str, int]]) -> None:
        self._node_id = node_id
        self._read = read

    def collect(self) -> Any:
        family = CounterMetricFamily(
            "printfarm_peer_frames_dropped", "Peer frames dropped, by reason", labels=["node_id", "reason"]
        )
        for name, count in self._read().items():
            if name.startswith("dropped_"):
                family.add_metric([self._node_id, name.removeprefix("dropped_")], count)
        yield family
