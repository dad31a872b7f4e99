"""Where a durable write's CPU goes: py-spy samples of the leader and a follower under write load.

    python bench/profile_nodes.py [--seconds 12] [--clients 64] [--rate 250] [--top 25]

Starts a local 3-node cluster, drives `POST /api/v1/printers` at the leader with bench/loadgen.py, and
meanwhile records the leader and one follower with py-spy (every thread, idle samples left out); then
prints, for each, the share of samples spent under each of our source files and libraries (inclusive), and
the hottest functions (self). Needs py-spy (`.venv/bin/python -m pip install py-spy`: a bench tool, not a
dependency of the project) and the right to ptrace the nodes (root, or kernel.yama.ptrace_scope=0).
Raw collapsed stacks are kept next to the report when --keep DIR is given.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.loadgen import run_load  # noqa: E402
from tests.support.cluster import Cluster  # noqa: E402

# (name, substring of a frame's file) in the order they are matched; the first match names a frame
GROUPS = (
    ("uvicorn", "/uvicorn/"),
    ("falcon", "/falcon/"),
    ("httptools", "httptools"),
    ("uvloop/asyncio", "/uvloop/"),
    ("asyncio", "/asyncio/"),
    ("zmq", "/zmq/"),
    ("msgpack", "/msgpack/"),
    ("prometheus", "/prometheus_client/"),
    ("json", "/json/"),
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--gil", action="store_true",
                        help="sample only the thread holding the GIL (Python CPU; no fsync or lock waits)")
    parser.add_argument("--keep", type=Path, help="a directory to keep the collapsed stacks in")
    parser.add_argument("--node-arg", action="append", default=[], metavar="ARG")
    return parser.parse_args()


TICKS = os.sysconf("SC_CLK_TCK")


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far of each thread of `pid`, by thread name (ZeroMQ's I/O threads are invisible to
    py-spy, which sees Python frames only; the kernel's accounting sees every thread)."""
    used: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            text = (task / "stat").read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        if name == "python":  # Python does not name OS threads: the loop thread is the one with the pid
            name = "loop thread" if task.name == str(pid) else "other Python threads (storage)"
        fields = text.rpartition(")")[2].split()
        used[name] = used.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / TICKS
    return used


def thread_report(before: dict[str, float], after: dict[str, float], requests: int) -> str:
    rows = sorted(((after[name] - before.get(name, 0.0), name) for name in after), reverse=True)
    total = sum(seconds for seconds, _ in rows)
    cells = ", ".join(f"{name} {1e6 * seconds / requests:.0f}" for seconds, name in rows if seconds > 0)
    return f"  CPU per write by thread (us): {1e6 * total / requests:.0f} = {cells}"


def frame_file(frame: str) -> str:
    """'func (path/file.py:12)' -> 'path/file.py'."""
    start = frame.rfind("(")
    return frame[start + 1 : frame.rfind(":")] if start >= 0 else frame


def frame_owner(frame: str) -> str:
    path = "/" + frame_file(frame).removeprefix(str(REPO) + "/")
    for name, marker in GROUPS:
        if marker in path:
            return name
    for prefix in ("/actors/", "/raft/", "/farm/", "/httpapi/"):
        at = path.find(prefix)
        if at >= 0:
            return path[at + 1 :]
    return "other: " + path.lstrip("/")


def summarise(collapsed: Path, top: int) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    self_time: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        threads[frames[0].rpartition(": ")[2]] += count
        owners = {frame_owner(frame) for frame in frames[1:] or frames}
        for owner in owners:
            inclusive[owner] += count
        leaf = frames[-1]
        self_time[f"{leaf.split(' (')[0]} ({frame_owner(leaf)})"] += count
    if not total:
        return "  no samples (py-spy could not attach?)"
    by_thread = ", ".join(f"{name} {100 * count / total:.0f}%" for name, count in threads.most_common(4))
    lines = [f"  {total} samples ({by_thread})"]
    lines.append("  inclusive share by file / library:")
    for owner, count in inclusive.most_common(top):
        lines.append(f"    {100 * count / total:5.1f}%  {owner}")
    lines.append("  hottest functions (self):")
    for name, count in self_time.most_common(top):
        lines.append(f"    {100 * count / total:5.1f}%  {name}")
    return "\n".join(lines)


async def drive(port: int, clients: int, seconds: float) -> tuple[str, int]:
    def make(client: int, sequence: int) -> tuple[str, str, bytes]:
        body = {"id": f"prof-{client}-{sequence}", "company": "Prusa", "model": "MK4"}
        return "POST", "/api/v1/printers", json.dumps(body).encode()

    result = await run_load([("127.0.0.1", port)], make, clients, seconds)
    return result.summary(), result.ok


def main() -> None:
    args = parse_args()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        raise SystemExit("py-spy not found: .venv/bin/python -m pip install py-spy")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    base = Path(tempfile.mkdtemp(prefix="printfarm-profile-", dir=REPO))
    out = args.keep or base
    out.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(base / "cluster", size=3, extra_args=args.node_arg)
    try:
        cluster.bootstrap()
        leader = cluster.wait_converged()
        follower = next(node for node in cluster.running() if node is not leader)
        recorders = {}
        for role, node in (("leader", leader), ("follower", follower)):
            assert node.process is not None
            target = out / f"{role}.collapsed"
            recorders[role] = (target, subprocess.Popen(
                [py_spy, "record", "--pid", str(node.process.pid), "--duration", str(int(args.seconds)),
                 "--rate", str(args.rate), "--format", "raw", "--threads", "--nonblocking",
                 "--output", str(target), *(["--gil"] if args.gil else [])],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        pids = {"leader": leader.process.pid, "follower": follower.process.pid}  # type: ignore[union-attr]
        before = {role: thread_cpu(pid) for role, pid in pids.items()}
        summary, ok = asyncio.run(drive(leader.http_port, args.clients, args.seconds))
        after = {role: thread_cpu(pid) for role, pid in pids.items()}
        print("load:", summary, flush=True)
        for role, (target, process) in recorders.items():
            _, errors = process.communicate(timeout=60)
            print(f"\n{role} (pid {pids[role]}):")
            print(thread_report(before[role], after[role], max(ok, 1)))
            if process.returncode != 0 or not target.exists():
                print(f"  py-spy failed: {errors.decode(errors='replace').strip()[-400:]}")
                continue
            print(summarise(target, args.top), flush=True)
    finally:
        cluster.stop_all()
        cluster.close()
        shutil.rmtree(base, ignore_errors=True)  # the stacks kept with --keep are elsewhere


if __name__ == "__main__":
    main()
