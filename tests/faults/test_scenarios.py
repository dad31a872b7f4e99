"""The bounded fault run inside `make test`: every scenario once, at least 20 injected faults in total.

FAULTS_SEED=N picks the seeds (default 1); a failure prints the seed, the nemesis schedule, what the checks
found, the smallest failing slice of the history and the nodes' log tails. The soak is tests/faults/soak.py.
"""

from __future__ import annotations

import asyncio
import os
import random
from dataclasses import replace
from pathlib import Path

import pytest

from tests.faults.history import History
from tests.faults.linearizability import Verdict, check, minimize
from tests.faults.models import JobModel, JobView, ReadJob
from tests.faults.nemesis import mount_works
from tests.faults.proxy import ProxyMesh, ProxyThread
from tests.faults.runner import SCENARIOS, run_scenario, settings_for
from tests.faults.workload import Workload
from tests.support.cluster import Cluster, wait_for
from tests.support.fixtures import needs_curve

pytestmark = pytest.mark.faults

BASE_SEED = int(os.environ.get("FAULTS_SEED", "1"))
# scenario -> (rounds, retry, snapshot_every). With retry the clients resend a failed write with its
# Idempotency-Key until it answers (exactly-once across leader changes); without, every failure stays
# indeterminate in the history (the checker's "may or may not have happened"). A small snapshot interval
# makes restarted nodes catch up through compaction and InstallSnapshot.
BOUNDED = {
    "kill_leader": (2, True, 50),
    "kill_random": (2, False, 50),
    "kill_all": (2, True, None),
    "pause_leader": (2, False, None),
    "isolate_leader": (2, False, 100),
    "one_way": (1, True, None),
    "deafen_leader": (1, False, None),
    "flapping": (2, True, None),
    "mixed": (2, False, 50),
    "disk_full": (1, False, 100),
}


def test_the_bounded_run_injects_at_least_twenty_faults() -> None:
    planned = sum(SCENARIOS[name].faults_per_round * rounds for name, (rounds, *_) in BOUNDED.items())
    assert planned >= 20
    assert set(BOUNDED) == set(SCENARIOS)


@pytest.mark.parametrize("name", list(BOUNDED))
def test_scenario(name: str, tmp_path: Path) -> None:
    scenario = SCENARIOS[name]
    if scenario.disk:
        reason = mount_works(tmp_path / "probe")
        if reason:
            pytest.skip(reason)
    seed = BASE_SEED * 1000 + list(BOUNDED).index(name)
    rounds, retry, snapshot_every = BOUNDED[name]
    settings = replace(settings_for(seed), retry=retry, snapshot_every=snapshot_every)
    result = run_scenario(scenario, seed, tmp_path, rounds=rounds, settings=settings)
    print(result.row())
    assert result.ok, result.report()
    assert result.faults >= scenario.faults_per_round * rounds, result.report()
    assert result.operations > 100, result.report()  # the clients really ran against the faults


# Scenarios run again with a cluster key: CurveZMQ on every link, through the proxies for isolate_leader.
KEYED = ("kill_leader", "isolate_leader")


@needs_curve
@pytest.mark.parametrize("name", KEYED)
def test_scenario_with_a_cluster_key(name: str, tmp_path: Path) -> None:
    seed = BASE_SEED * 1000 + 500 + KEYED.index(name)
    rounds, retry, snapshot_every = BOUNDED[name]
    settings = replace(settings_for(seed), retry=retry, snapshot_every=snapshot_every)
    result = run_scenario(SCENARIOS[name], seed, tmp_path, rounds=rounds, settings=settings, cluster_key=True)
    print(result.row())
    assert result.ok, result.report()
    assert result.operations > 100, result.report()
    logs = (tmp_path / f"{name}-{seed}" / "node1.log").read_text()
    assert "--cluster-key=" in logs  # it really ran keyed


def test_the_suite_catches_stale_reads_on_a_real_cluster(tmp_path: Path) -> None:
    """A canary for the whole pipeline: reads with ?consistency=stale from an isolated follower miss an
    acknowledged write, and the recorded history must be judged non-linearizable. The same follower must not
    answer a linearizable read with the stale value."""
    with ProxyThread() as proxies:
        mesh = ProxyMesh(proxies, {f"node{i + 1}": 0 for i in range(3)})
        cluster = Cluster(tmp_path / "canary", 3)
        mesh.retarget({node.node_id: node.raft_port for node in cluster.nodes})
        for node in cluster.nodes:
            node.extra_args = mesh.overrides(node.node_id)
        try:
            cluster.bootstrap()
            history = History()
            leader = cluster.leader()
            follower = next(node for node in cluster.nodes if node is not leader)
            writer = Workload([leader.http_port], history, random.Random(1), run_id="canary")
            reader = Workload([follower.http_port], history, random.Random(2), run_id="canary")
            reader.settings.op_deadline = 3.0

            async def scenario() -> object:
                farm = await writer.setup()
                fid, printer = farm.filaments[0], farm.printers[farm.filaments[0]][0]
                await writer.create_job(1, "job", fid, printer, 10)
                replicated = lambda: follower.get("/api/v1/print_jobs/job").status == 200  # noqa: E731
                await asyncio.to_thread(wait_for, replicated)
                mesh.isolate(follower.node_id)
                acked = await writer.set_status(1, "job", fid, "Running")
                stale = await reader.read_job(2, "job", fid, stale=True)
                linearizable = await reader.read_job(3, "job", fid)
                await writer.close()
                await reader.close()
                return acked, stale, linearizable

            acked, stale, linearizable = asyncio.run(scenario())
        finally:
            cluster.close()
    assert acked == JobView("Running")
    assert stale == JobView("Queued")
    assert linearizable != JobView("Queued")  # an isolated follower must not serve that from its copy
    ops = history.operations()
    assert check(JobModel(), ops).verdict is Verdict.ILLEGAL
    small = minimize(JobModel(), "job", [op for op in ops if getattr(op.input, "job_id", None) == "job"])
    assert [type(op.input) for op in small][-1] is ReadJob and len(small) == 3
