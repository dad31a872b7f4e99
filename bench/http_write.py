"""HTTP throughput and latency of a real local 3-node cluster: durable writes, linearizable and stale reads.

    python bench/http_write.py [--clients 64] [--seconds 10] [--target leader|all]

Starts the cluster itself (data under a temporary directory on the same disk as the repo), drives it with
keep-alive clients from bench/loadgen.py, prints one line per phase, and stops everything it started.
Numbers, never assertions: the machine is shared by the cluster and the clients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.loadgen import LoadResult, run_load  # noqa: E402
from tests.support.cluster import Cluster  # noqa: E402

JOB_FILAMENT_GRAMS = 10_000_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--target", choices=("leader", "all"), default="leader",
                        help="send requests to the leader only, or spread them over every node")
    parser.add_argument("--nodes", type=int, default=3)
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
        return "GET", f"/api/v1/printers/p-{client}-0?consistency={consistency}", b""
    return make


def seed_fixtures(cluster: Cluster) -> None:
    leader = cluster.leader()
    leader.post("/api/v1/printers", {"id": "bench-printer", "company": "Bench", "model": "B1"})
    leader.post("/api/v1/filaments", {"id": "bench-spool", "type": "PLA", "color": "Grey",
                                      "total_weight_in_grams": JOB_FILAMENT_GRAMS,
                                      "remaining_weight_in_grams": JOB_FILAMENT_GRAMS})


def report(name: str, result: LoadResult) -> None:
    print(f"{name:<22} {result.summary()}", flush=True)


async def run_phases(targets: list[tuple[str, int]], clients: int, seconds: float) -> None:
    report("write: create printer", await run_load(targets, printer_writes, clients, seconds))
    report("write: create job", await run_load(targets, job_writes, clients, seconds))
    report("read: linearizable", await run_load(targets, reads("linearizable"), clients, seconds))
    report("read: stale", await run_load(targets, reads("stale"), clients, seconds))


def main() -> None:
    args = parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    base = Path(tempfile.mkdtemp(prefix="printfarm-bench-", dir=REPO))
    cluster = Cluster(base, size=args.nodes)
    try:
        python = f"{platform.python_implementation()} {platform.python_version()}"
        print(f"machine: {platform.machine()}, {python}, {args.nodes} nodes, {args.clients} clients, "
              f"{args.seconds:.0f} s per phase, target {args.target}", flush=True)
        cluster.bootstrap()
        seed_fixtures(cluster)
        leader = cluster.wait_converged()
        nodes = [leader] if args.target == "leader" else cluster.running()
        targets = [("127.0.0.1", node.http_port) for node in nodes]
        asyncio.run(run_phases(targets, args.clients, args.seconds))
    finally:
        cluster.stop_all()
        cluster.close()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
