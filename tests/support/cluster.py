"""A harness for real node processes on 127.0.0.1: start, stop, kill, restart, talk HTTP, wait for conditions.

Every node is `python cli.py node ...` in its own process group with its log in a file; nothing here sleeps
for a fixed time: waits poll a condition until a deadline and fail with what they last saw.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
T = TypeVar("T")


class WaitTimeout(AssertionError):
    pass


def wait_for(
    condition: Callable[[], T | None], timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> T:
    """Poll `condition` until it returns something truthy (returned) or `timeout` passes (WaitTimeout)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            value = condition()
        except Exception as exc:  # a node mid-restart refuses connections: keep polling
            last = exc
        else:
            if value:
                return value
            last = value
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"waited {timeout:.1f}s for {what or condition}; last saw {last!r}")
        time.sleep(interval)


def free_ports(count: int) -> list[int]:
    """Ports free right now on 127.0.0.1 (held open together so they are distinct)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind((HOST, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port_range(count: int, attempts: int = 200) -> int:
    """The first of `count` consecutive ports free right now on 127.0.0.1."""
    rng = random.Random()
    for _ in range(attempts):
        base = rng.randrange(20000, 60000 - count)
        sockets = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind((HOST, port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"no {count} consecutive free ports found")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


def http(
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> Response:
    """One HTTP request; any status comes back as a Response (errors raise only for no connection)."""
    data = None
    all_headers = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return Response(reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


@dataclass
class Node:
    node_id: str
    http_port: int
    raft_port: int
    data_dir: Path
    log_path: Path
    extra_args: list[str] = field(default_factory=list)
    cluster_key: Path | None = None  # passed as --cluster-key
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    token: str | None = None  # sent as a bearer token with every request once the cluster is bootstrapped

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    @property
    def raft_addr(self) -> str:
        return f"{HOST}:{self.raft_port}"

    def command(
        self, bootstrap: bool = False, join: str | None = None, extra: Sequence[str] = ()
    ) -> list[str]:
        argv = [
            sys.executable,
            str(REPO / "cli.py"),
            "node",
            f"--node_id={self.node_id}",
            f"--raft_addr={self.raft_addr}",
            f"--data_dir={self.data_dir}",
            f"--http_port={self.http_port}",
        ]
        if bootstrap:
            argv.append("--bootstrap")
        if join:
            argv.append(f"--join={join}")
        if self.cluster_key is not None:
            argv.append(f"--cluster-key={self.cluster_key}")
        return argv + self.extra_args + list(extra)

    def start(self, bootstrap: bool = False, join: str | None = None, extra: Sequence[str] = ()) -> None:
        assert not self.alive(), f"{self.node_id} is already running"
        self.starts += 1
        argv = self.command(bootstrap, join, extra)
        log = self.log_path.open("ab")
        log.write(f"\n===== start #{self.starts}: {' '.join(argv)}\n".encode())
        log.flush()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            argv,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        log.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        if self.process is None:
            return
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait for a graceful exit; returns the exit code (kills after `timeout`)."""
        assert self.process is not None
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # --- HTTP ----------------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Response:
        if self.token is not None:
            kwargs["headers"] = {"Authorization": f"Bearer {self.token}", **(kwargs.get("headers") or {})}
        return http(method, self.url + path, body, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Response:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Response:
        return self.request("PUT", path, body, **kwargs)

    def state(self) -> str | None:
        """The /raft/state word, or None if the node does not answer."""
        try:
            reply = self.get("/raft/state", timeout=2)
        except OSError:
            return None
        return reply.text if reply.status == 200 else None

    def status(self) -> dict[str, Any] | None:
        try:
            reply = self.get("/raft/status", timeout=2)
        except OSError:
            return None
        return reply.json() if reply.status == 200 else None

    def healthy(self) -> bool:
        try:
            return self.get("/healthz", timeout=2).status == 200
        except OSError:
            return False


def write_cluster_key(path: Path) -> Path:
    """A new cluster key file at `path` (as `python cli.py keygen` writes it)."""
    from actors import peer_key

    peer_key.write(path, peer_key.generate(), force=True)
    return path


class Cluster:
    """`size` nodes node1..nodeN with data dirs and logs under `base_dir`; nothing starts until asked.

    cluster_key: a key file every node gets with --cluster-key, or True for a new one under base_dir."""

    def __init__(
        self,
        base_dir: Path,
        size: int = 3,
        extra_args: Iterable[str] = (),
        cluster_key: Path | bool | None = None,
    ) -> None:
        base_dir.mkdir(parents=True, exist_ok=True)
        ports = free_ports(2 * size)
        if cluster_key is True:
            cluster_key = write_cluster_key(base_dir / "cluster.key")
        self.cluster_key: Path | None = cluster_key or None
        self.base_dir = base_dir
        self.nodes = [
            Node(
                node_id=f"node{i + 1}",
                http_port=ports[2 * i],
                raft_port=ports[2 * i + 1],
                data_dir=base_dir / f"node{i + 1}_data",
                log_path=base_dir / f"node{i + 1}.log",
                extra_args=list(extra_args),
                cluster_key=self.cluster_key,
            )
            for i in range(size)
        ]

    def __getitem__(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(node_id)

    def running(self) -> list[Node]:
        return [node for node in self.nodes if node.alive()]

    # --- bringing a cluster up -------------------------------------------------------------------------

    def bootstrap(self, timeout: float = 30.0) -> Node:
        """The seed's way: node1 --bootstrap, the others plain, then POST /join for each at the leader."""
        first = self.nodes[0]
        first.start(bootstrap=True)
        for node in self.nodes[1:]:
            node.start()
        wait_for(lambda: first.state() == "Leader", timeout, what="node1 to lead")
        for node in self.nodes[1:]:
            reply = first.post(f"/join?node_id={node.node_id}&addr={node.raft_addr}", timeout=timeout)
            assert reply.status == 200, (reply.status, reply.body)
        self.wait_converged(timeout)
        return first

    def wait_converged(self, timeout: float = 30.0) -> Node:
        """One leader, every running node a voter that follows it and has applied its commit index."""

        def converged() -> Node | None:
            leader = self.leader_now()
            if leader is None:
                return None
            status = leader.status()
            if status is None:
                return None
            voters = {m["node_id"] for m in status["members"] if m["role"] == "voter"}
            if voters != {n.node_id for n in self.nodes}:
                return None
            for node in self.running():
                other = node.status()
                if other is None or other["leader_id"] != leader.node_id:
                    return None
                if other["applied_index"] < status["commit_index"]:
                    return None
            return leader

        return wait_for(converged, timeout, what="the cluster to converge")

    def leader_now(self) -> Node | None:
        """The running node that says Leader, if exactly one does."""
        leaders = [node for node in self.running() if node.state() == "Leader"]
        return leaders[0] if len(leaders) == 1 else None

    def leader(self, timeout: float = 15.0, exclude: Iterable[str] = ()) -> Node:
        skip = set(exclude)

        def found() -> Node | None:
            leader = self.leader_now()
            return leader if leader is not None and leader.node_id not in skip else None

        return wait_for(found, timeout, what="a leader")

    def followers(self) -> list[Node]:
        leader = self.leader()
        return [node for node in self.running() if node is not leader]

    # --- tearing down --------------------------------------------------------------------------------

    def stop_all(self, timeout: float = 15.0) -> dict[str, int]:
        """SIGTERM every running node at once, then wait for each; returns the exit codes."""
        running = self.running()
        for node in running:
            assert node.process is not None
            node.process.send_signal(signal.SIGTERM)
        codes = {}
        for node in running:
            assert node.process is not None
            try:
                codes[node.node_id] = node.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                node.kill()
                raise
        return codes

    def close(self) -> None:
        for node in self.nodes:
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                node.kill()

    def logs(self, tail_lines: int = 150) -> str:
        parts = []
        for node in self.nodes:
            lines = node.log_text().splitlines()[-tail_lines:]
            parts.append(f"----- {node.node_id} ({node.log_path}) -----\n" + "\n".join(lines))
        return "\n".join(parts)
