"""Nemeses: the faults a scenario injects into a running cluster, each logged on a schedule.

A nemesis runs in its own thread beside the asyncio workload (the cluster harness blocks). Holding a fault
for some seconds is the point of a nemesis, so it sleeps; waiting for the cluster (a leader, a restart)
polls a condition with a deadline. `heal_all` undoes everything so the final checks see a whole cluster.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.faults.proxy import Direction, ProxyMesh
from tests.support.cluster import Cluster, Node, WaitTimeout, wait_for


@dataclass
class Nemesis:
    cluster: Cluster
    rng: random.Random
    mesh: ProxyMesh | None = None
    disk: Tmpfs | None = None
    origin: float = field(default_factory=time.monotonic)
    schedule: list[str] = field(default_factory=list)
    faults: int = 0
    paused: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)  # what the cluster did wrong under a fault

    def log(self, text: str) -> None:
        self.schedule.append(f"{time.monotonic() - self.origin:7.2f}s  {text}")

    def fault(self, text: str) -> None:
        self.faults += 1
        self.log(f"FAULT {self.faults}: {text}")

    def hold(self, seconds: float) -> None:
        time.sleep(seconds)

    # ---- finding nodes ----

    def leader(self, timeout: float = 15.0) -> Node:
        """The current leader among running, unpaused nodes; a random such node if none is found."""

        def found() -> Node | None:
            awake = [n for n in self.cluster.running() if n.node_id not in self.paused]
            leaders = [n for n in awake if n.state() == "Leader"]
            return leaders[0] if len(leaders) == 1 else None

        try:
            return wait_for(found, timeout, what="a leader")
        except WaitTimeout:
            node = self.rng.choice([n for n in self.cluster.running() if n.node_id not in self.paused])
            self.log(f"no single leader found; picking {node.node_id}")
            return node

    def random_node(self) -> Node:
        return self.rng.choice([n for n in self.cluster.running() if n.node_id not in self.paused])

    def wait_for_leader(self, timeout: float = 20.0) -> None:
        try:
            node = self.cluster.leader(timeout)
            self.log(f"leader is {node.node_id}")
        except WaitTimeout as exc:
            self.log(f"no leader within {timeout:.0f}s: {exc}")

    # ---- processes ----

    def kill(self, node: Node) -> None:
        self.fault(f"kill -9 {node.node_id}")
        node.kill()

    def kill_all(self) -> None:
        self.fault("kill -9 every node at once")
        for node in self.cluster.running():
            assert node.process is not None
            os.killpg(node.process.pid, signal.SIGKILL)
        for node in self.cluster.nodes:
            node.kill()

    def restart(self, node: Node) -> None:
        self.log(f"restart {node.node_id}")
        if not node.alive():
            node.start()
        wait_for(node.healthy, 20, what=f"{node.node_id} to serve HTTP")

    def restart_all(self) -> None:
        for node in self.cluster.nodes:
            if not node.alive():
                self.log(f"restart {node.node_id}")
                node.start()
        for node in self.cluster.nodes:
            wait_for(node.healthy, 20, what=f"{node.node_id} to serve HTTP")

    def pause(self, node: Node) -> None:
        self.fault(f"SIGSTOP {node.node_id}")
        assert node.process is not None
        os.killpg(node.process.pid, signal.SIGSTOP)
        self.paused.add(node.node_id)

    def resume(self, node: Node) -> None:
        self.log(f"SIGCONT {node.node_id}")
        if node.process is not None and node.alive():
            os.killpg(node.process.pid, signal.SIGCONT)
        self.paused.discard(node.node_id)

    # ---- network ----

    def _mesh(self) -> ProxyMesh:
        assert self.mesh is not None, "this scenario needs the cluster started behind proxies"
        return self.mesh

    def isolate(self, node: Node) -> None:
        self.fault(f"isolate {node.node_id} from every peer")
        self._mesh().isolate(node.node_id)

    def cut_one_way(self, source: Node, targets: list[Node]) -> None:
        names = ", ".join(t.node_id for t in targets)
        self.fault(f"one-way: {source.node_id} can no longer send to {names} (they still reach it)")
        for target in targets:
            self._mesh().cut(source.node_id, target.node_id)

    def deafen(self, node: Node) -> None:
        """Peers' bytes to `node` vanish silently on open connections: it sends but never hears."""
        self.fault(f"one-way drop: {node.node_id} hears nothing from its peers (connections stay open)")
        mesh = self._mesh()
        for (_, target), handle in mesh.links.items():
            if target == node.node_id:
                handle.drop(Direction.TO_SERVER)

    def flap(self, a: Node, b: Node, times: int, period: float) -> None:
        mesh = self._mesh()
        for _ in range(times):
            self.fault(f"flap: cut {a.node_id} <-> {b.node_id}")
            mesh.cut(a.node_id, b.node_id)
            mesh.cut(b.node_id, a.node_id)
            self.hold(period * self.rng.uniform(0.5, 1.5))
            self.log(f"flap: heal {a.node_id} <-> {b.node_id}")
            mesh.links[(a.node_id, b.node_id)].heal()
            mesh.links[(b.node_id, a.node_id)].heal()
            self.hold(period * self.rng.uniform(0.5, 1.5))

    def heal_network(self) -> None:
        if self.mesh is not None:
            self.log("heal the network")
            self.mesh.heal()

    # ---- the end ----

    def heal_all(self) -> None:
        self.heal_network()
        for node in self.cluster.nodes:
            if node.node_id in self.paused:
                self.resume(node)
        self.restart_all()


# ---- disk faults: a size-limited tmpfs as a node's data dir ----


def tmpfs_unavailable() -> str | None:
    """Why a tmpfs cannot be mounted here (None: it can)."""
    if os.geteuid() != 0:
        return "ENOSPC needs a size-limited tmpfs, and mounting one needs root"
    if shutil.which("mount") is None:
        return "no mount(8) here"
    return None


@dataclass
class Tmpfs:
    path: Path
    size_mb: int

    def mount(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size_mb}m", "tmpfs", str(self.path)],
                       check=True, capture_output=True)

    def grow(self, size_mb: int) -> None:
        self.size_mb = size_mb
        subprocess.run(["mount", "-o", f"remount,size={size_mb}m", str(self.path)], check=True,
                       capture_output=True)

    def fill(self) -> int:
        """Writes a filler file until the filesystem is full; returns its size in bytes."""
        filler = self.path / "filler"
        written = 0
        block = b"\0" * 65536
        try:
            with filler.open("wb") as out:
                while True:
                    out.write(block)
                    out.flush()
                    written += len(block)
        except OSError:
            pass
        return written

    def unfill(self) -> None:
        (self.path / "filler").unlink(missing_ok=True)

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


def mount_works(probe_dir: Path) -> str | None:
    """Tries a tiny tmpfs mount (containers often forbid it); returns why not, or None."""
    reason = tmpfs_unavailable()
    if reason:
        return reason
    fs = Tmpfs(probe_dir, 1)
    try:
        fs.mount()
    except subprocess.CalledProcessError as exc:
        return f"mount -t tmpfs failed: {exc.stderr.decode(errors='replace').strip()}"
    fs.unmount()
    return None
