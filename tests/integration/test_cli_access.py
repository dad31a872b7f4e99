"""`python cli.py cluster` on a cluster with access control on: it says to set PRINTFARM_TOKEN, and with it
restarts the cluster as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_cli import ClusterCommand
from tests.support.cluster import free_port_range, http, wait_for

pytestmark = pytest.mark.integration


def test_cluster_restarts_a_bootstrapped_cluster_with_a_token(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("PRINTFARM_TOKEN", raising=False)
    http_base = free_port_range(6)
    raft_base = http_base + 3
    url = f"http://127.0.0.1:{http_base}"
    first = ClusterCommand(tmp_path, http_base, raft_base)
    try:
        first.wait_ready()
        boot = http("POST", url + "/api/v1/acl/bootstrap", {"name": "root"})
        assert boot.status == 201
        secret = json.loads(boot.body)["token"]
        assert first.interrupt() == 0
    finally:
        first.kill_everything()

    without = ClusterCommand(tmp_path, http_base, raft_base)
    try:
        wait_for(lambda: without.process.poll() is not None, 90, what="the cluster command to give up")
        assert "set PRINTFARM_TOKEN" in without.output, without.output
    finally:
        without.kill_everything()

    monkeypatch.setenv("PRINTFARM_TOKEN", secret)
    with_token = ClusterCommand(tmp_path, http_base, raft_base)
    try:
        with_token.wait_ready()
        assert http("GET", url + "/api/v1/printers").status == 401
        bearer = {"Authorization": f"Bearer {secret}"}
        assert http("GET", url + "/api/v1/printers", headers=bearer).status == 200
        assert with_token.interrupt() == 0
    finally:
        with_token.kill_everything()
