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


def test_cluster_command_starts_joins_reports_and_stops_every_node(tmp_path: Path) -> None:
    http_base = free_port_range(6)
    raft_base = http_base + 3
    argv = [sys.executable, str(REPO / "cli.py"), "cluster", "--nodes", "3", "--data-dir", str(tmp_path)]
    argv += ["--http-port", str(http_base), "--raft-port", str(raft_base)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("Ctrl-C stops every node" in line for line in lines), 60, what="the cluster")
        output = "".join(lines)
        assert re.search(r"cluster of 3 ready; leader: node\d", output), output
        words = [http("GET", f"http://127.0.0.1:{http_base + i}/raft/state").text for i in range(3)]
        assert sorted(words) == ["Follower", "Follower", "Leader"]
        reply = http(
            "POST",
            f"http://127.0.0.1:{http_base + 2}/api/v1/printers",
            {"id": "p", "company": "a", "model": "b"},
        )
        assert reply.status == 201
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        reader.join(timeout=5)
        output = "".join(lines)
        assert output.count("stopped (exit code 0)") == 3, output
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            "node1.log", "node1_data", "node2.log", "node2_data", "node3.log", "node3_data",
        ]  # fmt: skip
    finally:
        if process.poll() is None:
            process.kill()
        for pid in re.findall(r"is pid (\d+)", "".join(lines)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
