"""printfarm next to a 3-member etcd on the same machine, same load generator, one run, alternating A B A B.

    python bench/peers.py [--rounds 2] [--seconds 8] [--clients 64] [--half] [--skip-etcd] [--baseline DIR]

Both clusters run on loopback only (data in a temporary directory, everything stopped at the end), and
bench/loadgen.py drives small JSON writes at each one's leader: printfarm's `POST /api/v1/printers`, etcd's
HTTP gateway `POST /v3/kv/put` (base64 key and value; the value is the same printer JSON). Every write is
durable on a majority before it is answered, in both systems. Phases alternate (printfarm, etcd, then etcd,
printfarm: each round starts one system later) so that a machine shared with other work, and whatever a system
still does after its own phase, weigh on both alike; each line gives writes/s, p50/p99 and the CPU
the cluster's processes used per write (from /proc/<pid>/stat: all three nodes summed, and the leader alone),
and the end gives medians and printfarm/etcd ratios. `--half` adds, after the peak rounds, one round of each
at half of printfarm's median peak rate (a paced load) for the tail latency there.

etcd comes from Debian: `sudo apt-get install etcd-server etcd-client` (etcd 3.4). Without an `etcd`
binary on PATH the etcd phases are skipped with a message saying so. `--baseline DIR` adds a third system in
the same alternation: printfarm as checked out in DIR (e.g. `git archive <commit> | tar -x -C DIR`), for a
before/after of a change measured side by side. Numbers, never assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.loadgen import LoadResult, RequestFactory, run_load  # noqa: E402
from tests.support.cluster import Cluster, Node, free_ports, wait_for  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
HOST = "127.0.0.1"
INSTALL_HINT = "sudo apt-get install etcd-server etcd-client"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="A B pairs at full load (default 2)")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each phase")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--half", action="store_true",
                        help="then one paced round of each at half of printfarm's median peak rate")
    parser.add_argument("--half-rounds", type=int, default=1, help="paced rounds with --half")
    parser.add_argument("--skip-etcd", action="store_true", help="measure printfarm alone")
    parser.add_argument("--node-arg", action="append", default=[], metavar="ARG",
                        help="an extra flag for every printfarm node")
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="also run printfarm from this checkout (as baseline), in the same alternation")
    parser.add_argument("--baseline-node-arg", action="append", metavar="ARG",
                        help="the baseline's node flags instead of --node-arg (same code, other settings)")
    return parser.parse_args()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads) so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def printer_body(client: int, sequence: int) -> bytes:
    return json.dumps({"id": f"p-{client}-{sequence}", "company": "Prusa", "model": "MK4"}).encode()


# --- the two systems ----------------------------------------------------------------------------------


class Printfarm:
    def __init__(self, base: Path, node_args: list[str], checkout: Path | None = None) -> None:
        self.name = "printfarm" if checkout is None else "baseline"
        self.cluster = Cluster(base / self.name, size=3, extra_args=node_args)
        if checkout is not None:
            cli = str(checkout.resolve() / "cli.py")
            for node in self.cluster.nodes:
                node.command = _other_cli(node, cli)  # type: ignore[method-assign]

    def start(self) -> None:
        self.cluster.bootstrap()
        self.cluster.wait_converged()

    def leader(self) -> tuple[tuple[str, int], list[int], int]:
        """(address of the leader, pids of every node, pid of the leader)."""
        leader = self.cluster.leader()
        pids = [node.process.pid for node in self.cluster.running() if node.process is not None]
        assert leader.process is not None
        return (HOST, leader.http_port), pids, leader.process.pid

    def writes(self, phase: str) -> RequestFactory:
        def make(client: int, sequence: int) -> tuple[str, str, bytes]:
            body = json.dumps({"id": f"{phase}-{client}-{sequence}", "company": "Prusa", "model": "MK4"})
            return "POST", "/api/v1/printers", body.encode()

        return make

    def stop(self) -> None:
        self.cluster.stop_all()
        self.cluster.close()


def _other_cli(node: Node, cli: str) -> Callable[..., list[str]]:
    """node.command, running `cli` instead of this checkout's cli.py (its own packages come first on
    sys.path, as the script's directory always does)."""
    original = Node.command

    def command(*args: object, **kwargs: object) -> list[str]:
        argv = original(node, *args, **kwargs)  # type: ignore[arg-type]
        argv[1] = cli
        return argv

    return command


@dataclass
class EtcdMember:
    name: str
    client_port: int
    peer_port: int
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None


class Etcd:
    name = "etcd"

    def __init__(self, base: Path, binary: str) -> None:
        ports = free_ports(6)
        self.binary = binary
        self.base = base / "etcd"
        self.base.mkdir(parents=True, exist_ok=True)
        self.members = [
            EtcdMember(f"e{i + 1}", ports[2 * i], ports[2 * i + 1], self.base / f"e{i + 1}.etcd")
            for i in range(3)
        ]

    def start(self) -> None:
        initial = ",".join(f"{m.name}=http://{HOST}:{m.peer_port}" for m in self.members)
        for member in self.members:
            argv = [
                self.binary,
                f"--name={member.name}",
                f"--data-dir={member.data_dir}",
                f"--listen-client-urls=http://{HOST}:{member.client_port}",
                f"--advertise-client-urls=http://{HOST}:{member.client_port}",
                f"--listen-peer-urls=http://{HOST}:{member.peer_port}",
                f"--initial-advertise-peer-urls=http://{HOST}:{member.peer_port}",
                f"--initial-cluster={initial}",
                "--initial-cluster-state=new",
                "--initial-cluster-token=printfarm-bench",
                "--log-level=warn",
                "--logger=zap",
            ]
            log = (self.base / f"{member.name}.log").open("ab")
            member.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                              start_new_session=True)
            log.close()
        wait_for(lambda: self._leader_member() is not None, 30, what="etcd to elect a leader")

    def _status(self, member: EtcdMember) -> dict | None:
        request = urllib.request.Request(f"http://{HOST}:{member.client_port}/v3/maintenance/status",
                                         data=b"{}", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=2) as reply:
                return json.loads(reply.read())
        except (OSError, ValueError):
            return None

    def _leader_member(self) -> EtcdMember | None:
        for member in self.members:
            status = self._status(member)
            if status and "leader" in status and status["leader"] == status["header"].get("member_id"):
                return member
        return None

    def leader(self) -> tuple[tuple[str, int], list[int], int]:
        leader = wait_for(self._leader_member, 15, what="an etcd leader")
        pids = [m.process.pid for m in self.members if m.process is not None]
        assert leader.process is not None
        return (HOST, leader.client_port), pids, leader.process.pid

    def writes(self, phase: str) -> RequestFactory:
        def make(client: int, sequence: int) -> tuple[str, str, bytes]:
            key = base64.b64encode(f"/printers/{phase}-{client}-{sequence}".encode()).decode()
            value = base64.b64encode(printer_body(client, sequence)).decode()
            return "POST", "/v3/kv/put", json.dumps({"key": key, "value": value}).encode()

        return make

    def stop(self) -> None:
        for member in self.members:
            if member.process is not None and member.process.poll() is None:
                os.killpg(member.process.pid, signal.SIGTERM)
        for member in self.members:
            if member.process is None:
                continue
            try:
                member.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(member.process.pid, signal.SIGKILL)
                member.process.wait(timeout=10)


# --- phases -------------------------------------------------------------------------------------------


@dataclass
class Phase:
    system: str
    kind: str  # "peak" or "half"
    result: LoadResult
    cpu_all_us: float
    cpu_leader_us: float

    def line(self) -> str:
        return (f"{self.system:<10} {self.kind:<5} {self.result.summary()}  "
                f"cpu/write {self.cpu_all_us:.0f} us (leader {self.cpu_leader_us:.0f})")


@dataclass
class Results:
    phases: list[Phase] = field(default_factory=list)

    def of(self, system: str, kind: str) -> list[Phase]:
        return [p for p in self.phases if p.system == system and p.kind == kind]


async def measure(system: Printfarm | Etcd, kind: str, number: int, clients: int, seconds: float,
                  rate: float | None) -> Phase:
    target, pids, leader_pid = system.leader()
    before = [cpu_seconds(pid) for pid in pids]
    leader_before = cpu_seconds(leader_pid)
    result = await run_load([target], system.writes(f"{kind}{number}"), clients, seconds, rate=rate)
    used = sum(cpu_seconds(pid) for pid in pids) - sum(before)
    leader_used = cpu_seconds(leader_pid) - leader_before
    ok = result.ok or 1
    return Phase(system.name, kind, result, 1e6 * used / ok, 1e6 * leader_used / ok)


def median_of(phases: list[Phase], value: Callable[[Phase], float]) -> float:
    return statistics.median(value(p) for p in phases) if phases else float("nan")


def summarise(results: Results, systems: list[str], kinds: list[str]) -> None:
    print("\nmedians (machine shared with other work: compare ratios, not absolutes)", flush=True)
    rows: dict[tuple[str, str], dict[str, float]] = {}
    for kind in kinds:
        for system in systems:
            phases = results.of(system, kind)
            if not phases:
                continue
            row = {
                "writes/s": median_of(phases, lambda p: p.result.rate()),
                "p50 ms": median_of(phases, lambda p: 1e3 * p.result.percentile(0.5)),
                "p99 ms": median_of(phases, lambda p: 1e3 * p.result.percentile(0.99)),
                "cpu us/write": median_of(phases, lambda p: p.cpu_all_us),
                "leader us/write": median_of(phases, lambda p: p.cpu_leader_us),
            }
            rows[(system, kind)] = row
            cells = "  ".join(f"{name} {value:8.1f}" for name, value in row.items())
            print(f"  {system:<10} {kind:<5} ({len(phases)} runs)  {cells}", flush=True)
    for kind in kinds:
        for mine, other in (("printfarm", "etcd"), ("baseline", "etcd"), ("printfarm", "baseline")):
            ours, theirs = rows.get((mine, kind)), rows.get((other, kind))
            if ours and theirs:
                cells = "  ".join(f"{name} x{ours[name] / theirs[name]:.2f}" for name in ours)
                print(f"  {mine}/{other} {kind:<5} {cells}", flush=True)


def rotated(systems: list[Printfarm | Etcd], round_number: int) -> list[Printfarm | Etcd]:
    """Each round starts with the next system: whoever follows etcd's phase meets its background work
    (an A/A run measured ~5% more CPU per write in the first slot), so every system takes every slot."""
    start = round_number % len(systems)
    return systems[start:] + systems[:start]


async def run(args: argparse.Namespace, systems: list[Printfarm | Etcd]) -> None:
    results = Results()
    for round_number in range(args.rounds):
        for system in rotated(systems, round_number):
            phase = await measure(system, "peak", round_number, args.clients, args.seconds, None)
            results.phases.append(phase)
            print(phase.line(), flush=True)
    kinds = ["peak"]
    if args.half:
        peak = median_of(results.of("printfarm", "peak"), lambda p: p.result.rate())
        rate = peak / 2
        print(f"paced at {rate:.0f} writes/s (half of printfarm's median peak)", flush=True)
        for round_number in range(args.half_rounds):
            for system in rotated(systems, round_number):
                phase = await measure(system, "half", round_number, args.clients, args.seconds, rate)
                results.phases.append(phase)
                print(phase.line(), flush=True)
        kinds.append("half")
    summarise(results, [s.name for s in systems], kinds)


def main() -> None:
    args = parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    etcd_binary = None if args.skip_etcd else shutil.which("etcd")
    if etcd_binary is None and not args.skip_etcd:
        print(f"etcd not found on PATH: skipping etcd (install it with `{INSTALL_HINT}`)", flush=True)
    base = Path(tempfile.mkdtemp(prefix="printfarm-peers-", dir=REPO))
    systems: list[Printfarm | Etcd] = [Printfarm(base, args.node_arg)]
    if args.baseline is not None:
        if not (args.baseline / "cli.py").exists():
            raise SystemExit(f"--baseline {args.baseline}: no cli.py there")
        baseline_args = args.node_arg if args.baseline_node_arg is None else args.baseline_node_arg
        systems.append(Printfarm(base, baseline_args, args.baseline))
    if etcd_binary is not None:
        systems.append(Etcd(base, etcd_binary))
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, {python}; 3 nodes each, "
          f"{args.clients} clients at the leader, {args.rounds} x {args.seconds:.0f} s alternating "
          f"{' / '.join(s.name for s in systems)}", flush=True)
    try:
        for system in systems:
            system.start()
        asyncio.run(run(args, systems))
    finally:
        for system in systems:
            system.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
