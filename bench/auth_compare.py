"""The cost of access control: the same load on an open cluster and on a bootstrapped one with an operator
token, alternating phase by phase in one run (http_write.py --token-vs-open), and the per-request check
itself (the bearer header parsed, the secret hashed and looked up) timed alone.

Numbers, never assertions: the machine is shared by both clusters and the load generator.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import tempfile
import timeit
from pathlib import Path

from bench.loadgen import run_load
from farm.tokens import Token, TokenTable, hash_secret
from httpapi.access import bearer_secret
from tests.support.cluster import Cluster, Node


def check_cost() -> str:
    table = TokenTable()
    for number in range(1000):  # a farm with many tokens: the lookup stays a dict lookup
        table.add(Token(f"t{number}", f"n{number}", "operator", hash_secret(f"pf_{number:043d}"), ""))
    secret = "pf_" + "7" * 43
    table.add(Token("mine", "mine", "operator", hash_secret(secret), ""))
    header = f"Bearer {secret}"
    loops = 200_000
    seconds = min(timeit.repeat(lambda: table.role_of(bearer_secret(header)), number=loops, repeat=5))
    return f"token check alone (parse + SHA-256 + dict lookup, 1,001 tokens): {1e9 * seconds / loops:.0f} ns"


def _operator_token(cluster: Cluster) -> str:
    leader = cluster.leader()
    boot = leader.post("/api/v1/acl/bootstrap", {"name": "bench"})
    assert boot.status == 201, boot.body
    admin = boot.json()["token"]
    made = leader.post("/api/v1/tokens", {"name": "bench-operator", "role": "operator"},
                       headers={"Authorization": f"Bearer {admin}"})  # fmt: skip
    assert made.status == 201, made.body
    for node in cluster.nodes:
        node.token = admin
    return made.json()["token"]


def _shifted(make, offset: int):
    return lambda client, sequence: make(client + offset, sequence)


def compare(args, seed_fixtures, loads, report, CpuMeter) -> None:
    """Two clusters side by side, one open and one bootstrapped; each phase runs `args.rounds` times on
    each, alternating, and the medians are compared."""
    base = Path(tempfile.mkdtemp(prefix="printfarm-bench-auth-", dir=Path(__file__).resolve().parents[1]))
    open_cluster = Cluster(base / "open", size=args.nodes, extra_args=args.node_arg)
    closed_cluster = Cluster(base / "closed", size=args.nodes, extra_args=args.node_arg)
    try:
        print(check_cost(), flush=True)
        setups: dict[str, tuple[list[Node], list[tuple[str, int]], dict[str, str] | None]] = {}
        for name, cluster in (("open", open_cluster), ("operator", closed_cluster)):
            cluster.bootstrap()
            headers = None
            if name == "operator":
                headers = {"Authorization": f"Bearer {_operator_token(cluster)}"}
            seed_fixtures(cluster)
            leader = cluster.wait_converged()
            nodes = [leader] + [node for node in cluster.running() if node is not leader]
            targeted = [leader] if args.target == "leader" else nodes
            setups[name] = (nodes, [("127.0.0.1", node.http_port) for node in targeted], headers)
        for phase in [p for p in args.phases.split(",") if p]:
            label, make = loads[phase]
            rates: dict[str, list[float]] = {"open": [], "operator": []}
            cpu: dict[str, list[float]] = {"open": [], "operator": []}
            for round_number in range(args.rounds):
                for name in ("open", "operator"):
                    nodes, targets, headers = setups[name]
                    meter = CpuMeter(nodes)
                    # new ids each round: client numbers shifted past the previous rounds'
                    fresh = _shifted(make, round_number * 100_000)
                    load = run_load(targets, fresh, args.clients, args.seconds, headers=headers)
                    result = asyncio.run(load)
                    rates[name].append(result.rate())
                    cpu[name].append(meter.cpu_seconds() / max(result.ok, 1))
                    report(f"{label} [{name}]", result, meter)
            median_open, median_token = (statistics.median(rates[n]) for n in ("open", "operator"))
            cost = 100 * (median_open - median_token) / median_open if median_open else float("nan")
            cpu_open, cpu_token = (1e6 * statistics.median(cpu[n]) for n in ("open", "operator"))
            print(f"{label}: median {median_open:.0f}/s open, {median_token:.0f}/s with an operator token "
                  f"({cost:+.1f}% throughput); node CPU per request {cpu_open:.0f} vs {cpu_token:.0f} us "
                  f"({100 * (cpu_token - cpu_open) / cpu_open:+.1f}%)", flush=True)  # fmt: skip
    finally:
        for cluster in (open_cluster, closed_cluster):
            cluster.stop_all()
            cluster.close()
        shutil.rmtree(base, ignore_errors=True)
