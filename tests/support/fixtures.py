"""pytest glue for the cluster harness: import these names into a conftest.py to use them.

from tests.support.fixtures import cluster_factory, pytest_runtest_makereport  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from tests.support.cluster import Cluster

# CurveZMQ needs a libzmq built with it (pyzmq's wheels are): keyed tests skip, saying why, where it is not.
needs_curve = pytest.mark.skipif(not zmq.has("curve"), reason="this libzmq has no CURVE support")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def cluster_factory(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Cluster]]:
    """make(size=3, extra_args=(), cluster_key=None) -> a Cluster under tmp_path (cluster_key: a key file, or
    True for a new one); every process is killed afterwards, and the nodes' logs are printed if the test
    failed."""
    clusters: list[Cluster] = []

    def make(
        size: int = 3,
        extra_args: tuple[str, ...] = (),
        name: str = "cluster",
        cluster_key: Path | bool | None = None,
    ) -> Cluster:
        cluster = Cluster(tmp_path / f"{name}{len(clusters)}", size, extra_args, cluster_key)
        clusters.append(cluster)
        return cluster

    yield make
    for cluster in clusters:
        cluster.close()
    report = getattr(request.node, "report_call", None)
    if report is None or report.failed:
        for cluster in clusters:
            print(cluster.logs())


def module_cluster(tmp_path_factory: pytest.TempPathFactory, name: str, size: int = 3) -> Iterator[Cluster]:
    """The body of a module-scoped `cluster` fixture (`yield from module_cluster(tmp_path_factory, "cli")`):
    a bootstrapped cluster, killed afterwards; its nodes' logs are printed if anything failed in between."""
    cluster = Cluster(tmp_path_factory.mktemp(name) / "cluster", size)
    try:
        cluster.bootstrap()
        yield cluster
    except BaseException as exc:
        if not isinstance(exc, pytest.skip.Exception):
            print(cluster.logs())
        raise
    finally:
        cluster.close()
