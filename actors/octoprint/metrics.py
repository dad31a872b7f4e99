"""Per-connection metrics, read from the live connections when /metrics is scraped."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from actors.octoprint.connection import ConnectionStats


class ConnectionCollector(Collector):
    def __init__(self, node_id: str, read: Callable[[], dict[str, ConnectionStats]]) -> None:
        self._node_id = node_id
        self._read = read

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        labels = ["node_id", "printer_id"]
        polls = CounterMetricFamily(
            "printfarm_octoprint_polls", "Polls of a printer's OctoPrint", labels=labels
        )
        failures = CounterMetricFamily(
            "printfarm_octoprint_poll_failures", "Polls that got no usable answer", labels=labels
        )
        age = GaugeMetricFamily(
            "printfarm_octoprint_last_contact_age_seconds",
            "Seconds since the printer's OctoPrint last answered (-1: never, on this leader)",
            labels=labels,
        )
        for printer_id, stats in sorted(self._read().items()):
            values = [self._node_id, printer_id]
            polls.add_metric(values, stats.polls)
            failures.add_metric(values, stats.failures)
            age.add_metric(values, stats.contact_age())
        yield polls
        yield failures
        yield age
