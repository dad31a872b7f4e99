"""Scenarios: a fresh 3-node cluster, concurrent clients recording a history, a nemesis, then the checks.

run_scenario() is shared by the bounded pytest run (tests/faults/test_scenarios.py) and the soak
(python -m tests.faults.soak). A failing run's report names its seed, the nemesis schedule, what the checks
found and the smallest failing slice of the history.
"""

from __future__ import annotations

import asyncio
import random
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.faults.checks import Findings, check_all
from tests.faults.history import History
from tests.faults.nemesis import Nemesis, Tmpfs
from tests.faults.proxy import ProxyMesh, ProxyThread
from tests.faults.workload import Settings, Workload
from tests.support.cluster import Cluster, Node, wait_for

TICK_SECONDS = 0.05  # cli.py's default --tick-ms
ELECTION_TIMEOUT_MAX = 2 * 10 * TICK_SECONDS  # randomized in [election_ticks, 2*election_ticks) ticks
PAUSE_SECONDS = 2.5 * ELECTION_TIMEOUT_MAX  # well past any election timeout


# ---- the nemesis programs: each gets the nemesis and how many rounds to run ----


def kill_leader(n: Nemesis, rounds: int) -> None:
    for _ in range(rounds):
        n.hold(n.rng.uniform(0.8, 1.6))
        leader = n.leader()
        n.kill(leader)
        n.hold(n.rng.uniform(0.5, 1.5))
        n.restart(leader)
        n.wait_for_leader()


def kill_random(n: Nemesis, rounds: int) -> None:
    for _ in range(rounds):
        n.hold(n.rng.uniform(0.8, 1.6))
        node = n.random_node()
        n.kill(node)
        n.hold(n.rng.uniform(0.3, 1.5))
        n.restart(node)
        n.wait_for_leader()


def kill_all(n: Nemesis, rounds: int) -> None:
    for _ in range(rounds):
        n.hold(n.rng.uniform(0.8, 1.6))
        n.kill_all()
        n.hold(n.rng.uniform(0.2, 1.0))
        n.restart_all()
        n.wait_for_leader()


def pause_leader(n: Nemesis, rounds: int) -> None:
    """SIGSTOP the leader past the election timeout: once resumed it must not serve a stale read or ack a
    write it cannot commit (the history check would see either)."""
    for _ in range(rounds):
        n.hold(n.rng.uniform(0.8, 1.6))
        leader = n.leader()
        n.pause(leader)
        n.hold(PAUSE_SECONDS)
        n.resume(leader)
        n.wait_for_leader()


def isolate_leader(n: Nemesis, rounds: int) -> None:
    for _ in range(rounds):
        n.hold(n.rng.uniform(0.8, 1.6))
        leader = n.leader()
        n.isolate(leader)
        n.hold(PAUSE_SECONDS)
        n.heal_network()
        n.wait_for_leader()


def one_way(n: Nemesis, rounds: int) -> None:
    """First the leader cannot send (it still hears its followers), then the followers cannot reach it."""
    for _ in range(rounds):
        n.hold(n.rng.uniform(0.8, 1.6))
        leader = n.leader()
        others = [node for node in n.cluster.nodes if node is not leader]
        n.cut_one_way(leader, others)
        n.hold(PAUSE_SECONDS)
        n.heal_network()
        n.wait_for_leader()
        leader = n.leader()
        for node in n.cluster.nodes:
            if node is not leader:
                n.cut_one_way(node, [leader])
        n.hold(PAUSE_SECONDS)
        n.heal_network()
        n.wait_for_leader()


def deafen_leader(n: Nemesis, rounds: int) -> None:
    """Bytes to the leader vanish on open TCP connections: no reset, no reconnect, just silence."""
    for _ in range(rounds):
        n.hold(n.rng.uniform(0.8, 1.6))
        leader = n.leader()
        n.deafen(leader)
        n.hold(PAUSE_SECONDS)
        n.heal_network()
        n.wait_for_leader()


def flapping(n: Nemesis, rounds: int) -> None:
    n.hold(n.rng.uniform(0.5, 1.0))
    leader = n.leader()
    follower = n.rng.choice([node for node in n.cluster.nodes if node is not leader])
    n.flap(leader, follower, times=3 * rounds, period=0.5)
    n.wait_for_leader()


def mixed(n: Nemesis, rounds: int) -> None:
    """One or two overlapping faults of random kinds per round (a partition and a crash together can leave
    no majority for a while), undone in reverse order."""
    for _ in range(rounds):
        n.hold(n.rng.uniform(0.5, 1.5))
        undo: list[Callable[[], None]] = []
        for _ in range(n.rng.choice((1, 2))):
            node = n.leader(timeout=3.0) if n.rng.random() < 0.6 else n.random_node()
            kind = n.rng.choice(("kill", "pause", "isolate", "cut"))
            if kind == "kill":
                n.kill(node)
                undo.append(lambda node=node: n.restart(node))
            elif kind == "pause":
                n.pause(node)
                undo.append(lambda node=node: n.resume(node))
            elif kind == "isolate":
                n.isolate(node)
                undo.append(n.heal_network)
            else:
                others = [other for other in n.cluster.nodes if other is not node]
                n.cut_one_way(node, n.rng.sample(others, n.rng.choice((1, 2))))
                undo.append(n.heal_network)
            n.hold(n.rng.uniform(0.5, 2.0))
        for step in reversed(undo):
            step()
        n.wait_for_leader()


def disk_full(n: Nemesis, rounds: int) -> None:
    """Fill the tmpfs under node1's data dir: it must stop rather than acknowledge; then free it, restart."""
    fs = n.disk
    assert fs is not None
    node = n.cluster.nodes[0]
    for _ in range(rounds):
        n.hold(n.rng.uniform(1.0, 2.0))
        n.fault(f"fill the data dir of {node.node_id} ({fs.size_mb} MiB tmpfs) to ENOSPC")
        written = fs.fill()
        n.log(f"filler wrote {written} bytes")
        try:
            wait_for(lambda: not node.alive(), 20, what=f"{node.node_id} to stop on ENOSPC")
            n.log(f"{node.node_id} stopped (exit code {node.exit_code()})")
        except AssertionError:
            n.problems.append(f"{node.node_id} kept running for 20 s with its data dir full")
        fs.unfill()
        n.log("freed the disk")
        n.restart(node)
        n.wait_for_leader()


@dataclass(frozen=True)
class Scenario:
    name: str
    program: Callable[[Nemesis, int], None]
    faults_per_round: int
    proxies: bool = False
    disk: bool = False


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("kill_leader", kill_leader, 1),
        Scenario("kill_random", kill_random, 1),
        Scenario("kill_all", kill_all, 1),
        Scenario("pause_leader", pause_leader, 1),
        Scenario("isolate_leader", isolate_leader, 1, proxies=True),
        Scenario("one_way", one_way, 2, proxies=True),
        Scenario("deafen_leader", deafen_leader, 1, proxies=True),
        Scenario("flapping", flapping, 3, proxies=True),
        Scenario("mixed", mixed, 1, proxies=True),
        Scenario("disk_full", disk_full, 1, disk=True),
    )
}


# ---- running one ----


def settings_for(seed: int) -> Settings:
    """How the clients behave, drawn from the run's seed so that a rerun with the seed behaves the same."""
    rng = random.Random(seed ^ 0x5EED)
    return Settings(
        workers=rng.choice((4, 6, 8)),
        retry=rng.random() < 0.5,
        attempt_timeout=rng.choice((1.0, 3.0)),
        think=rng.choice(((0.0, 0.005), (0.0, 0.02), (0.01, 0.05))),
        snapshot_every=rng.choice((None, 50, 300)),
        tick_ms=rng.choice((None, None, 15)),
    )


@dataclass
class ScenarioResult:
    scenario: str
    seed: int
    rounds: int
    settings: Settings = field(default_factory=Settings)
    faults: int = 0
    operations: int = 0
    indeterminate: int = 0
    seconds: float = 0.0
    findings: Findings = field(default_factory=Findings)
    schedule: list[str] = field(default_factory=list)
    error: str = ""
    logs: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and self.findings.ok

    def row(self) -> str:
        verdict = "ok" if self.ok else "FAILED"
        return (f"{self.scenario:<15} seed={self.seed:<10} faults={self.faults:<3} ops={self.operations:<5} "
                f"indeterminate={self.indeterminate:<4} {self.seconds:6.1f}s  {verdict}  "
                f"{self.findings.summary()}")

    def report(self) -> str:
        retry = "yes" if self.settings.retry else "no"
        snapshots = self.settings.snapshot_every or 0
        lines = [f"FAULT SCENARIO FAILED: {self.scenario} seed={self.seed} rounds={self.rounds}",
                 f"rerun: python -m tests.faults.soak --scenario {self.scenario} --seed {self.seed} "
                 f"--rounds {self.rounds} --retry {retry} --snapshot-every {snapshots} --runs 1",
                 f"clients: {self.settings}",
                 "nemesis schedule:", *(f"  {line}" for line in self.schedule)]
        if self.error:
            lines += ["error:", self.error]
        lines += [f"problem: {p}" for p in self.findings.problems]
        lines.append(f"linearizability: {self.findings.summary()}")
        lines += self.findings.slices
        if self.logs:
            lines += ["node logs (tail):", self.logs]
        return "\n".join(lines)


async def _drive(workload: Workload, nemesis: Nemesis, scenario: Scenario, rounds: int) -> None:
    await workload.setup()
    clients = asyncio.create_task(workload.run())
    try:
        await asyncio.to_thread(scenario.program, nemesis, rounds)
        await asyncio.to_thread(nemesis.heal_all)
        await asyncio.sleep(1.0)  # some traffic against the healed cluster, before the final reads
    finally:
        workload.stop.set()
        await clients
        await workload.close()


def run_scenario(
    scenario: Scenario,
    seed: int,
    base_dir: Path,
    rounds: int = 1,
    settings: Settings | None = None,
    cluster_key: bool = False,
) -> ScenarioResult:
    """cluster_key: every node gets a new cluster key (CurveZMQ on every link; the proxies carry the
    encrypted bytes as they are)."""
    started = time.monotonic()
    rng = random.Random(seed)
    settings = settings or settings_for(seed)
    result = ScenarioResult(scenario.name, seed, rounds, settings)
    proxies: ProxyThread | None = None
    mesh: ProxyMesh | None = None
    if scenario.proxies:  # before the cluster picks its ports, so that none can be a proxy's
        proxies = ProxyThread()
        proxies.start()
        mesh = ProxyMesh(proxies, {f"node{i + 1}": 0 for i in range(3)})
    cluster = Cluster(base_dir / f"{scenario.name}-{seed}", 3, cluster_key=cluster_key or None)
    disk: Tmpfs | None = None
    nemesis = Nemesis(cluster, random.Random(rng.random()), mesh)
    history = History()
    try:
        if nemesis.mesh is not None:
            nemesis.mesh.retarget({node.node_id: node.raft_port for node in cluster.nodes})
            for node in cluster.nodes:
                node.extra_args = nemesis.mesh.overrides(node.node_id)
        for flag, value in (("--snapshot-every", settings.snapshot_every), ("--tick-ms", settings.tick_ms)):
            if value:
                for node in cluster.nodes:
                    node.extra_args = [*node.extra_args, flag, str(value)]
        if scenario.disk:
            disk = Tmpfs(cluster.base_dir / "node1_disk", 48)
            disk.mount()
            nemesis.disk = disk
            cluster.nodes[0].data_dir = disk.path / "data"
        cluster.bootstrap()
        nemesis.log(f"cluster up: {', '.join(_describe(n) for n in cluster.nodes)}")
        workload = Workload([n.http_port for n in cluster.nodes], history, random.Random(rng.random()),
                            settings, run_id=f"{scenario.name}-{seed}")
        asyncio.run(_drive(workload, nemesis, scenario, rounds))
        assert workload.farm is not None
        history.close()
        result.findings = check_all(cluster, history, workload.farm, [j[0] for j in workload.jobs])
        result.findings.problems[:0] = nemesis.problems + workload.anomalies
    except Exception:
        result.error = traceback.format_exc()
    finally:
        result.faults = nemesis.faults
        result.schedule = nemesis.schedule
        counts = history.counts()
        result.operations, result.indeterminate = counts["operations"], counts["indeterminate"]
        if not result.ok:
            result.logs = cluster.logs(60)
            history.dump(str(cluster.base_dir / "history.jsonl"))
        for node in cluster.nodes:
            if node.node_id in nemesis.paused and node.alive():
                nemesis.resume(node)
        cluster.close()
        if proxies is not None:
            proxies.stop()
        if disk is not None:
            disk.unmount()
        result.seconds = time.monotonic() - started
    return result


def _describe(node: Node) -> str:
    return f"{node.node_id} http={node.http_port} raft={node.raft_port}"
