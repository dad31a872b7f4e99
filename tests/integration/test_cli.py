"""`python cli.py cluster`: a local cluster of node processes started, reported and stopped by one command."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support.cluster import REPO, free_port_range, http, wait_for

pytestmark = pytest.mark.integration


class ClusterCommand:
    def __init__(self, data_dir: Path, http_base: int, raft_base: int) -> None:
        argv = [sys.executable, str(REPO / "cli.py"), "cluster", "--nodes", "3", "--data-dir", str(data_dir)]
        argv += ["--http-port", str(http_base), "--raft-port", str(raft_base)]
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        stdout = self.process.stdout
        assert stdout is not None
        self.reader = threading.Thread(
            target=lambda: self.lines.extend(iter(stdout.readline, "")), daemon=True
        )
        self.reader.start()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self) -> None:
        wait_for(lambda: "Ctrl-C stops every node" in self.output, 60, what="the cluster command")

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=30)
        self.reader.join(timeout=5)
        return code

    def kill_everything(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        for pid in re.findall(r"is pid (\d+)", self.output):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)


def test_cluster_command_starts_reports_stops_and_restarts_with_its_data(tmp_path: Path) -> None:
    http_base = free_port_range(6)
    raft_base = http_base + 3
    urls = [f"http://127.0.0.1:{http_base + i}" for i in range(3)]
    first = ClusterCommand(tmp_path, http_base, raft_base)
    try:
        first.wait_ready()
        assert re.search(r"cluster of 3 ready; leader: node\d", first.output), first.output
        words = [http("GET", url + "/raft/state").text for url in urls]
        assert sorted(words) == ["Follower", "Follower", "Leader"]
        reply = http("POST", urls[2] + "/api/v1/printers", {"id": "p", "company": "a", "model": "b"})
        assert reply.status == 201
        assert first.interrupt() == 0
        assert first.output.count("stopped (exit code 0)") == 3, first.output
    finally:
        first.kill_everything()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "node1.log", "node1_data", "node2.log", "node2_data", "node3.log", "node3_data",
    ]  # fmt: skip

    second = ClusterCommand(tmp_path, http_base, raft_base)  # `make run` again: same cluster, same data
    try:
        second.wait_ready()
        assert "restarts from its data" in second.output
        for url in urls:
            reply = http("GET", url + "/api/v1/printers")
            assert reply.status == 200 and [p["id"] for p in reply.json()] == ["p"]
        assert second.interrupt() == 0
    finally:
        second.kill_everything()
