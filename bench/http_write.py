"""HTTP throughput and latency of a real local 3-node cluster: durable writes, linearizable and stale reads.

    python bench/http_write.py [--clients 64] [--seconds 10] [--target leader|all] [--phases ...]
    python bench/http_write.py --cluster-key            # the cluster runs with a cluster key (CurveZMQ)
    python bench/http_write.py --compare-cluster-key 5  # a keyless and a keyed cluster, phases alternating

Starts the cluster itself (data under a temporary directory on the same disk as the repo), drives it with
keep-alive clients from bench/loadgen.py, prints one line per phase, and stops everything it started.
Each phase line ends with the CPU the node processes used (from /proc/<pid>/stat: % of one core each, the
leader first) and their CPU time per request, so a change can be judged by work per write and not only
by a throughput that depends on what else the machine runs.
Numbers, never assertions: the machine is shared by the cluster and the clients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.loadgen import LoadResult, run_load  # noqa: E402
from tests.support.cluster import Cluster, Node  # noqa: E402

JOB_FILAMENT_GRAMS = 10_000_000
READ_PRINTERS = 64
PHASES = ("printers", "jobs", "linearizable", "stale")
TICKS = os.sysconf("SC_CLK_TCK")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--target", choices=("leader", "all"), default="leader",
                        help="send requests to the leader only, or spread them over every node")
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--phases", default=",".join(PHASES),
                        help=f"comma-separated subset of {','.join(PHASES)}")
    parser.add_argument("--node-arg", action="append", default=[], metavar="ARG",
                        help="an extra flag for every node, e.g. --node-arg=--snapshot-every=100000")
    parser.add_argument("--cluster-key", action="store_true",
                        help="start the nodes with a new cluster key (CurveZMQ on every peer link)")
    parser.add_argument("--compare-cluster-key", type=int, default=0, metavar="ROUNDS",
                        help="run a keyless and a keyed cluster side by side and alternate the phases "
                             "between them ROUNDS times (the first alternates too); prints medians and costs")
    parser.add_argument("--token-vs-open", action="store_true",
                        help="an open cluster and one with an operator token side by side, alternating "
                             "(bench/auth_compare.py)")
    parser.add_argument("--rounds", type=int, default=3, help="with --token-vs-open: runs of each phase")
    return parser.parse_args()


def printer_writes(client: int, sequence: int) -> tuple[str, str, bytes]:
    body = {"id": f"p-{client}-{sequence}", "company": "Prusa", "model": "MK4"}
    return "POST", "/api/v1/printers", json.dumps(body).encode()


def job_writes(client: int, sequence: int) -> tuple[str, str, bytes]:
    body = {"job_id": f"j-{client}-{sequence}", "printer_id": "bench-printer", "filament_id": "bench-spool",
            "print_weight_in_grams": 1, "status": "Queued"}
    return "POST", "/api/v1/print_jobs", json.dumps(body).encode()


def reads(consistency: str):
    def make(client: int, sequence: int) -> tuple[str, str, bytes]:
        return "GET", f"/api/v1/printers/r-{client % READ_PRINTERS}?consistency={consistency}", b""
    return make


def seed_fixtures(cluster: Cluster) -> None:
    leader = cluster.leader()
    leader.post("/api/v1/printers", {"id": "bench-printer", "company": "Bench", "model": "B1"})
    leader.post("/api/v1/filaments", {"id": "bench-spool", "type": "PLA", "color": "Grey",
                                      "total_weight_in_grams": JOB_FILAMENT_GRAMS,
                                      "remaining_weight_in_grams": JOB_FILAMENT_GRAMS})
    for number in range(READ_PRINTERS):  # what the read phases look up
        leader.post("/api/v1/printers", {"id": f"r-{number}", "company": "Prusa", "model": "MK4"})


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads) so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class CpuMeter:
    """CPU used by each node process (leader first) and by this process (the load generator) in a phase."""

    def __init__(self, nodes: list[Node]) -> None:
        self.nodes = nodes
        self.start = self._sample()

    def _sample(self) -> tuple[float, list[float], float]:
        pids = [node.process.pid for node in self.nodes if node.process is not None]
        return time.perf_counter(), [cpu_seconds(pid) for pid in pids], time.process_time()

    def node_seconds(self) -> float:
        """CPU seconds all the nodes used since the meter started."""
        return sum(after - before for before, after in zip(self.start[1], self._sample()[1], strict=True))
    def cpu_seconds(self) -> float:
        """CPU seconds all node processes used since the meter started."""
        _, nodes0, _ = self.start
        _, nodes1, _ = self._sample()
        return sum(after - before for before, after in zip(nodes0, nodes1, strict=True))

    def summary(self, requests: int) -> str:
        (t0, nodes0, own0), (t1, nodes1, own1) = self.start, self._sample()
        wall = t1 - t0
        used = [after - before for before, after in zip(nodes0, nodes1, strict=True)]
        shares = "/".join(f"{100 * seconds / wall:.0f}" for seconds in used)
        per_request = 1e6 * sum(used) / requests if requests else float("nan")
        leader = 1e6 * used[0] / requests if requests else float("nan")
        client = 1e6 * (own1 - own0) / requests if requests else float("nan")
        return (f"cpu% {shares}  cpu/req {per_request:.0f} us (leader {leader:.0f}, "
                f"loadgen {client:.0f})")


def report(name: str, result: LoadResult, meter: CpuMeter) -> None:
    print(f"{name:<22} {result.summary()}  {meter.summary(result.ok)}", flush=True)


def loads() -> dict:
    return {
        "printers": ("write: create printer", printer_writes),
        "jobs": ("write: create job", job_writes),
        "linearizable": ("read: linearizable", reads("linearizable")),
        "stale": ("read: stale", reads("stale")),
    }


async def run_phases(phases: list[str], nodes: list[Node], targets: list[tuple[str, int]], clients: int,
                     seconds: float) -> None:
    for phase in phases:
        name, make = loads()[phase]
        meter = CpuMeter(nodes)
        report(name, await run_load(targets, make, clients, seconds), meter)


LOADS = {
    "printers": ("write: create printer", printer_writes),
    "jobs": ("write: create job", job_writes),
    "linearizable": ("read: linearizable", reads("linearizable")),
    "stale": ("read: stale", reads("stale")),
}


def fresh_ids(make, tag: str):
    """The same requests with ids of their own (a phase that runs again must not create what exists)."""
    def tagged(client: int, sequence: int) -> tuple[str, str, bytes]:
        method, path, body = make(client, sequence)
        return method, path, body.replace(b'"p-', f'"p{tag}-'.encode()).replace(b'"j-', f'"j{tag}-'.encode())
    return tagged


def start(cluster: Cluster, target: str) -> tuple[list[Node], list[tuple[str, int]]]:
    cluster.bootstrap()
    seed_fixtures(cluster)
    leader = cluster.wait_converged()
    nodes = [leader] + [node for node in cluster.running() if node is not leader]
    targeted = [leader] if target == "leader" else nodes
    return nodes, [("127.0.0.1", node.http_port) for node in targeted]


Started = tuple[list[Node], list[tuple[str, int]]]  # the nodes (leader first) and the HTTP targets


async def compare_cluster_key(phases: list[str], clusters: dict[str, Started], rounds: int, clients: int,
                              seconds: float) -> None:
    """The same phases against the keyless and the keyed cluster in turn, so both see the same machine."""
    rates: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    for number in range(rounds):
        order = ["keyless", "keyed"] if number % 2 == 0 else ["keyed", "keyless"]
        for phase in phases:
            name, make = LOADS[phase]
            for mode in order:
                nodes, targets = clusters[mode]
                meter = CpuMeter(nodes)
                result = await run_load(targets, fresh_ids(make, str(number)), clients, seconds)
                rates.setdefault((phase, mode), []).append(result.rate())
                per_request = 1e6 * meter.node_seconds() / result.ok if result.ok else float("nan")
                cpu.setdefault((phase, mode), []).append(per_request)
                print(f"round {number + 1} {mode:<8} {name:<22} {result.summary()}  "
                      f"{meter.summary(result.ok)}", flush=True)
    print("medians over the rounds:")
    for phase in phases:
        plain, keyed = (statistics.median(rates[(phase, mode)]) for mode in ("keyless", "keyed"))
        plain_cpu, keyed_cpu = (statistics.median(cpu[(phase, mode)]) for mode in ("keyless", "keyed"))
        print(f"  {LOADS[phase][0]:<22} keyless {plain:7.0f} ok/s  keyed {keyed:7.0f} ok/s  "
              f"({100 * (keyed - plain) / plain:+.1f}%)   cpu/req keyless {plain_cpu:.0f} us, keyed "
              f"{keyed_cpu:.0f} us ({100 * (keyed_cpu - plain_cpu) / plain_cpu:+.1f}%)", flush=True)


def main() -> None:
    args = parse_args()
    phases = [phase for phase in args.phases.split(",") if phase]
    unknown = set(phases) - set(PHASES)
    if unknown:
        raise SystemExit(f"unknown phases {sorted(unknown)}; choose from {', '.join(PHASES)}")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    if args.token_vs_open:
        from bench.auth_compare import compare

        compare(args, seed_fixtures, loads(), report, CpuMeter)
        return
    base = Path(tempfile.mkdtemp(prefix="printfarm-bench-", dir=REPO))
    if args.compare_cluster_key:
        compare(args, phases, base)
        return
    cluster = Cluster(base, size=args.nodes, extra_args=args.node_arg, cluster_key=args.cluster_key or None)
    try:
        python = f"{platform.python_implementation()} {platform.python_version()}"
        print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, {python}, {args.nodes} nodes, "
              f"{args.clients} clients, {args.seconds:.0f} s per phase, target {args.target}"
              f"{', cluster key' if args.cluster_key else ''}", flush=True)
        cluster.bootstrap()
        seed_fixtures(cluster)
        leader = cluster.wait_converged()
        nodes = [leader] + [node for node in cluster.running() if node is not leader]
        targeted = [leader] if args.target == "leader" else nodes
        targets = [("127.0.0.1", node.http_port) for node in targeted]
        asyncio.run(run_phases(phases, nodes, targets, args.clients, args.seconds))
    finally:
        cluster.stop_all()
        cluster.close()
        shutil.rmtree(base, ignore_errors=True)


def compare(args: argparse.Namespace, phases: list[str], base: Path) -> None:
    clusters = {
        "keyless": Cluster(base / "keyless", size=args.nodes, extra_args=args.node_arg),
        "keyed": Cluster(base / "keyed", size=args.nodes, extra_args=args.node_arg, cluster_key=True),
    }
    try:
        python = f"{platform.python_implementation()} {platform.python_version()}"
        print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, {python}, {args.nodes} nodes, "
              f"{args.clients} clients, {args.seconds:.0f} s per phase, target {args.target}, "
              f"keyless vs keyed, {args.compare_cluster_key} rounds", flush=True)
        started = {mode: start(cluster, args.target) for mode, cluster in clusters.items()}
        rounds = args.compare_cluster_key
        asyncio.run(compare_cluster_key(phases, started, rounds, args.clients, args.seconds))
    finally:
        for cluster in clusters.values():
            cluster.stop_all()
            cluster.close()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
