"""A big farm on a local 3-node cluster: memory, stalls, pages, restarts, catch-up and event streams.

    python bench/scale.py [--objects 300000] [--phases start,lists,pages,snapshot,catchup,events]
                          [--subscribers 200] [--rate 1000] [--events-seconds 5]

The farm (a third each of printers, spools and jobs) is built in this process and handed to every node as
a snapshot (tests/support/preseed.py), so loading takes seconds, not minutes. A control client per node polls
/healthz every 20 ms for the whole run; each phase reports the worst answer it saw (how long a loop stood
still) next to what the phase measured:
- start: time from starting the processes to /readyz 200 on each node (restoring N objects), RSS per node;
- lists: a full job list at the leader (time, bytes), then 8 at once at a follower (200 vs 503), RSS after;
- pages: ?limit=50 pages and filters at the leader while a writer creates 100 printers/s (p50 / p99);
- snapshot: writes until every node has snapshotted the whole farm (build time from the nodes' logs);
  compaction happens inside this window;
- catchup: a follower stopped for a short while catches up from the log; one stopped for longer (past the
  leader's snapshot and log tail) catches up by installing a snapshot (restore time, its worst stall);
- events: paced writes without and then with S subscribers on one follower: writes/s both times, every
  subscriber's events complete and in order, delivery lag p50/p99 (write sent -> event read).
Numbers, never assertions. The machine may be shared: say so next to the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.loadgen import Connection  # noqa: E402
from tests.support.cluster import Cluster, Node, wait_for  # noqa: E402
from tests.support.preseed import build, install, printer_id  # noqa: E402
from tests.support.stall_probe import StallProbe  # noqa: E402

PHASES = ("start", "lists", "pages", "snapshot", "catchup", "events")
SNAPSHOT_EVERY = 5_000
COMPACTION_TAIL = 1_000
TICKS = os.sysconf("SC_CLK_TCK")
_ID = re.compile(rb"\nid: (\d+)\n")
_SEQ = re.compile(rb'"id":"ev-(\d+)"')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=300_000)
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--rate", type=int, default=1000, help="writes/s in the events phase")
    parser.add_argument("--events-seconds", type=float, default=5.0)
    parser.add_argument("--keep", action="store_true", help="keep the data dirs and logs")
    return parser.parse_args()


def supports(flag: str) -> bool:
    """Whether this tree's node takes `flag` (the bench also runs on older trees, to compare)."""
    help_text = subprocess.run(
        [sys.executable, str(REPO / "cli.py"), "node", "--help"], capture_output=True, text=True, cwd=REPO
    ).stdout
    return flag in help_text


def rss_mib(node: Node) -> float:
    assert node.process is not None
    for line in Path(f"/proc/{node.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(node: Node) -> float:
    assert node.process is not None
    fields = Path(f"/proc/{node.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def get(url: str, timeout: float = 120) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Bench:
    def __init__(self, args: argparse.Namespace, base: Path) -> None:
        self.args = args
        self.extra = [f"--snapshot-every={SNAPSHOT_EVERY}"]
        if supports("--compaction-tail"):
            self.extra.append(f"--compaction-tail={COMPACTION_TAIL}")
        self.base = base
        self.probes: dict[str, StallProbe] = {}
        self.leader: Node | None = None

    def stalls(self, since: float, nodes: list[Node] | None = None) -> str:
        chosen = nodes or self.cluster.nodes
        worst = {node.node_id: self.probes[node.node_id].worst(since) for node in chosen}
        return "worst /healthz " + ", ".join(f"{name} {ms * 1e3:.0f} ms" for name, ms in worst.items())

    def wait_ready(self, node: Node, timeout: float = 300) -> None:
        wait_for(lambda: node.get("/readyz", timeout=5).status == 200, timeout, 0.02, f"{node.node_id} ready")

    # --- phases ------------------------------------------------------------------------------------------

    def start(self, stack: ExitStack) -> None:
        started = time.monotonic()
        built = build(self.args.objects)
        self.cluster = Cluster(self.base, 3, self.extra)  # ports chosen now, just before the nodes bind them
        seeded = self.seeded = install(self.cluster, built)
        del built
        print(
            f"seeded {seeded.printers + seeded.filaments + seeded.jobs} objects in "
            f"{time.monotonic() - started:.1f} s (snapshot {seeded.snapshot_bytes / 2**20:.1f} MiB)"
        )
        started = time.monotonic()
        for node in self.cluster.nodes:
            node.start()
        ready = {}
        for node in self.cluster.nodes:
            self.wait_ready(node)
            ready[node.node_id] = time.monotonic() - started
        self.leader = self.cluster.leader(60)
        for node in self.cluster.nodes:
            self.probes[node.node_id] = stack.enter_context(StallProbe(node.url))
        objects = seeded.printers + seeded.filaments + seeded.jobs
        print(
            "start: to /readyz 200 " + ", ".join(f"{name} {s:.2f} s" for name, s in ready.items())
            + " | RSS " + ", ".join(f"{n.node_id} {rss_mib(n):.0f} MiB" for n in self.cluster.nodes)
            + f" ({rss_mib(self.leader) * 1024 / objects:.2f} KiB/object at the leader, all included)"
        )

    def lists(self) -> None:
        leader = self.leader
        assert leader is not None
        follower = next(node for node in self.cluster.nodes if node is not leader)
        since = time.monotonic()
        status, body = get(leader.url + "/api/v1/print_jobs")
        seconds = time.monotonic() - since
        count = body.count(b'"job_id"')
        print(
            f"lists: full job list at the leader: {status}, {count} jobs, {len(body) / 2**20:.1f} MiB in "
            f"{seconds:.2f} s | {self.stalls(since)}"
        )
        del body
        since = time.monotonic()
        results: list[tuple[int, float]] = []

        def one() -> None:
            began = time.monotonic()
            code, _data = get(follower.url + "/api/v1/print_jobs")
            results.append((code, time.monotonic() - began))

        threads = [threading.Thread(target=one) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        codes = {code: sum(1 for c, _ in results if c == code) for code, _ in results}
        print(
            f"lists: 8 full lists at once at {follower.node_id}: {codes}, slowest "
            f"{max(s for _, s in results):.2f} s | RSS {follower.node_id} {rss_mib(follower):.0f} MiB "
            f"after | {self.stalls(since)}"
        )

    def pages(self) -> None:
        leader = self.leader
        assert leader is not None
        stop = threading.Event()
        written = [0]

        def writer() -> None:
            number = 0
            while not stop.is_set():
                began = time.monotonic()
                body = {"id": f"page-writer-{number}", "company": "HP", "model": "L"}
                leader.post("/api/v1/printers", body)
                number += 1
                written[0] = number
                stop.wait(max(0.0, 0.01 - (time.monotonic() - began)))

        thread = threading.Thread(target=writer)
        thread.start()
        half = self.seeded.jobs // 2
        queries = {
            "printers ?limit=50": "/api/v1/printers?limit=50",
            "jobs ?limit=50&offset=N/2": f"/api/v1/print_jobs?limit=50&offset={half}",
            "jobs ?status=Queued&limit=50": "/api/v1/print_jobs?status=Queued&limit=50",
            "jobs ?printer_id=X": f"/api/v1/print_jobs?printer_id={printer_id(half)}",
        }
        since = time.monotonic()
        lines = []
        try:
            for name, path in queries.items():
                latencies = []
                for _ in range(100):
                    began = time.monotonic()
                    status, _body = get(leader.url + path)
                    assert status == 200, (path, status)
                    latencies.append(time.monotonic() - began)
                lines.append(
                    f"{name}: p50 {percentile(latencies, 0.5) * 1e3:.1f} ms, "
                    f"p99 {percentile(latencies, 0.99) * 1e3:.1f} ms"
                )
        finally:
            stop.set()
            thread.join()
        rate = written[0] / (time.monotonic() - since)
        print(f"pages (under {rate:.0f} creates/s): " + "; ".join(lines) + f" | {self.stalls(since)}")

    def _write(self, count: int, prefix: str, clients: int = 16) -> float:
        """`count` creates at the leader as fast as it takes them; returns writes/s."""
        leader = self.leader
        assert leader is not None
        numbers = iter(range(count))

        async def client(connection: Connection) -> None:
            for value in numbers:  # shared: each number is written once, by whichever client is free
                body = json.dumps({"id": f"{prefix}-{value}", "company": "HP", "model": "L"}).encode()
                await connection.request("POST", "/api/v1/printers", body)
            connection.close()

        async def drive() -> float:
            began = time.perf_counter()
            await asyncio.gather(*(client(Connection("127.0.0.1", leader.http_port)) for _ in range(clients)))
            return count / (time.perf_counter() - began)

        return asyncio.run(drive())

    def snapshot(self) -> None:
        """Most of an interval's writes at full speed, a pause, then the last ones at 50/s: the snapshot
        starts in the quiet part, so its stall is not hidden in the stalls of the write load."""
        before = {node.node_id: node.log_text().count("snapshot at index") for node in self.cluster.nodes}
        leader = self.leader
        assert leader is not None
        taken = [int(i) for i in re.findall(r"snapshot at index (\d+)", leader.log_text())]
        last = max([self.seeded.index, *taken])
        applied = leader.status()["applied_index"]  # type: ignore[index]
        fast = max(0, SNAPSHOT_EVERY - (applied - last) - 100)
        rate = self._write(fast, "snap")
        time.sleep(2)
        since = time.monotonic()
        for number in range(300):
            leader.post("/api/v1/printers", {"id": f"snap-slow-{number}", "company": "HP", "model": "L"})
            time.sleep(0.02)
        for node in self.cluster.nodes:
            wait_for(
                lambda node=node: node.log_text().count("snapshot at index") > before[node.node_id],
                120,
                what=f"{node.node_id} to snapshot",
            )
        builds = []
        for node in self.cluster.nodes:
            found = re.findall(r"built in ([0-9.]+) s", node.log_text())
            builds.append(f"{node.node_id} {float(found[-1]):.2f} s" if found else f"{node.node_id} ?")
        print(
            f"snapshot+compaction: {fast} writes at {rate:.0f}/s, then 300 at ~40/s; "
            f"snapshot built (forked child) {', '.join(builds)} | slow part: {self.stalls(since)}"
        )

    def catchup(self) -> None:
        leader = self.leader
        assert leader is not None
        follower = next(node for node in self.cluster.nodes if node is not leader)
        # brief: less than the tail behind
        follower.stop()
        self._write(COMPACTION_TAIL // 2, "brief")
        since = time.monotonic()
        follower.start()
        self.wait_ready(follower)
        print(f"catchup: {follower.node_id} {COMPACTION_TAIL // 2} entries behind: ready in "
              f"{time.monotonic() - since:.2f} s (restart included) | {self.stalls(since)}")
        # far: past a snapshot and the tail
        follower.stop()
        restored_before = follower.log_text().count("restored the farm from a snapshot")
        self._write(SNAPSHOT_EVERY + COMPACTION_TAIL + 500, "far")
        since = time.monotonic()
        follower.start()
        self.wait_ready(follower)
        took = time.monotonic() - since
        stall = self.stalls(since)
        time.sleep(5)  # the replaced state is freed in the background
        installs = follower.log_text().count("restored the farm from a snapshot") - restored_before
        print(
            f"catchup: {follower.node_id} {SNAPSHOT_EVERY + COMPACTION_TAIL + 500} entries behind: ready in "
            f"{took:.2f} s ({installs} snapshot restore(s): start-up and install), RSS 5 s later "
            f"{rss_mib(follower):.0f} MiB | {stall}"
        )

    def events(self) -> None:
        leader = self.leader
        assert leader is not None
        follower = next(node for node in self.cluster.nodes if node is not leader)
        rate, seconds = self.args.rate, self.args.events_seconds
        cpu = cpu_seconds(follower)
        base = asyncio.run(self._paced_writes(rate, seconds, "ev0", None))
        cpu_base, cpu = cpu_seconds(follower) - cpu, cpu_seconds(follower)
        since = time.monotonic()
        result = asyncio.run(self._paced_writes(rate, seconds, "ev", follower))
        cpu_streams = cpu_seconds(follower) - cpu
        print(
            f"events: paced {rate}/s for {seconds:.0f} s: {base['rate']:.0f} writes/s without subscribers, "
            f"{result['rate']:.0f} with {self.args.subscribers} on {follower.node_id} "
            f"({(result['rate'] / base['rate'] - 1) * 100:+.0f}%) | complete and in order: "
            f"{result['complete']}/{self.args.subscribers} | lag p50 {result['lag50'] * 1e3:.0f} ms, "
            f"p99 {result['lag99'] * 1e3:.0f} ms | dropped {result['dropped']}, refused "
            f"{result['refused']} | write statuses {result['statuses']} | {follower.node_id} CPU "
            f"{cpu_base:.1f} s without, {cpu_streams:.1f} s with the streams | {self.stalls(since)}"
        )

    async def _paced_writes(self, rate: int, seconds: float, prefix: str, target: Node | None) -> dict:
        leader = self.leader
        assert leader is not None
        sent: dict[int, float] = {}
        acked: list[int] = []
        subscribers: list[dict] = []
        readers: list[asyncio.Task] = []
        stop = asyncio.Event()
        statuses: dict[int, int] = {}

        async def subscribe(number: int) -> None:
            state = {"ids": [], "lags": [], "status": 0, "dropped": 0, "resets": 0}
            subscribers.append(state)
            reader, writer = await asyncio.open_connection("127.0.0.1", target.http_port)
            writer.write(b"GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
            carry = b""
            sample = number < 10
            try:
                head = await reader.readuntil(b"\r\n\r\n")
                state["status"] = int(head.split(b" ", 2)[1])
                while not stop.is_set():
                    chunk = await reader.read(1 << 16)
                    if not chunk:
                        break
                    now = time.monotonic()
                    data = carry + chunk
                    cut = data.rfind(b"\n\n") + 2
                    whole, carry = data[:cut], data[cut:]
                    state["ids"].extend(int(x) for x in _ID.findall(whole))
                    state["dropped"] += whole.count(b"event: dropped")
                    state["resets"] += whole.count(b"event: reset")
                    if sample:
                        for seq in _SEQ.findall(whole):
                            began = sent.get(int(seq))
                            if began is not None:
                                state["lags"].append(now - began)
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        if target is not None:
            readers = [asyncio.create_task(subscribe(n)) for n in range(self.args.subscribers)]
            await asyncio.sleep(1.0)  # let them connect
        clients = 32
        connections = [Connection("127.0.0.1", leader.http_port) for _ in range(clients)]
        began = time.monotonic()
        deadline = began + seconds
        interval = clients / rate

        async def client(number: int) -> None:
            connection = connections[number]
            due = began + number / rate
            seq = number
            while due < deadline:
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                body = json.dumps({"id": f"{prefix}-{seq}", "company": "HP", "model": "L"}).encode()
                sent[seq] = time.monotonic()
                try:
                    status = await connection.request("POST", "/api/v1/printers", body)
                except (TimeoutError, OSError, ValueError):
                    status = 0
                statuses[status] = statuses.get(status, 0) + 1
                if status == 201:
                    acked.append(seq)
                seq += clients
                due += interval

        await asyncio.gather(*(client(n) for n in range(clients)))
        elapsed = time.monotonic() - began
        for connection in connections:
            connection.close()
        result = {"rate": len(acked) / elapsed, "statuses": statuses}
        if target is not None:
            await asyncio.sleep(2.0)  # the last events on their way
            stop.set()
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
            counts = [len(set(s["ids"])) for s in subscribers]
            in_order = [s["ids"] == sorted(set(s["ids"])) for s in subscribers]
            most = max(counts, default=0)
            complete = sum(
                1 for c, ok in zip(counts, in_order, strict=True) if ok and c >= len(acked) and c == most
            )
            lags = [lag for s in subscribers for lag in s["lags"]]
            result.update(complete=complete, lag50=percentile(lags, 0.5), lag99=percentile(lags, 0.99))
            result["dropped"] = sum(s["dropped"] for s in subscribers)
            result["refused"] = sum(1 for s in subscribers if s["status"] != 200)
        return result


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so that `finally` stops the nodes
    args = parse_args()
    phases = args.phases.split(",")
    base = Path(tempfile.mkdtemp(prefix="printfarm-scale-"))
    bench = Bench(args, base)
    print(f"bench/scale.py: {args.objects} objects, phases {phases}, data in {base}")
    try:
        with ExitStack() as stack:
            bench.start(stack)
            for phase in phases:
                if phase != "start":
                    getattr(bench, phase)()
    finally:
        if hasattr(bench, "cluster"):
            bench.cluster.close()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
