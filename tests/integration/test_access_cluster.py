"""Access control on real node processes: bootstrap at a follower, tokens made at the leader and used at the
others, revocation seen by every node, everything kept across a restart; the CLI's acl and tokens commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.cluster import REPO, Cluster, Node, http, wait_for
from tests.support.seed import PRINTER

pytestmark = pytest.mark.integration


def cli(*args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PRINTFARM_TOKEN"}
    if token is not None:
        env["PRINTFARM_TOKEN"] = token
    return subprocess.run(
        [sys.executable, str(REPO / "cli.py"), *args], capture_output=True, text=True, timeout=60, env=env
    )


def as_token(node: Node, token: str | None, method: str, path: str, body=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http(method, node.url + path, body, headers=headers)


def refuses(node: Node, token: str | None) -> bool:
    return as_token(node, token, "GET", "/api/v1/printers").status == 401


def test_tokens_across_the_cluster_and_a_restart(cluster_factory) -> None:
    cluster: Cluster = cluster_factory(3)
    cluster.bootstrap()
    leader = cluster.leader()
    follower = next(node for node in cluster.nodes if node is not leader)

    boot = cli("acl", "bootstrap", "--url", follower.url, "--name", "root")
    assert boot.returncode == 0, boot.stderr
    admin = json.loads(boot.stdout)
    assert admin["role"] == "admin" and admin["name"] == "root" and admin["token"].startswith("pf_")
    secret = admin["token"]
    for node in cluster.nodes:
        wait_for(lambda node=node: refuses(node, None), 10, what=f"{node.node_id} to require a token")
        assert node.get("/healthz").status == 200 and node.get("/readyz").status == 200
        problem = node.get("/raft/status")
        assert problem.status == 401 and problem.headers["www-authenticate"] == "Bearer"
    again = cli("acl", "bootstrap", "--url", leader.url)
    assert again.returncode != 0 and "already_bootstrapped" in again.stderr

    made = {}
    for role in ("operator", "viewer"):
        result = cli("tokens", "create", f"ci-{role}", "--role", role, "--url", leader.url, token=secret)
        assert result.returncode == 0, result.stderr
        made[role] = json.loads(result.stdout)
    operator, viewer = made["operator"]["token"], made["viewer"]["token"]

    for number, node in enumerate(cluster.nodes):
        created = wait_for(
            lambda node=node, number=number: as_token(
                node, operator, "POST", "/api/v1/printers", PRINTER | {"id": f"p{number}"}
            ).status in (201, 409),
            10,
            what=f"the operator token to work at {node.node_id}",
        )
        assert created
        assert as_token(node, viewer, "GET", "/api/v1/printers?consistency=stale").status == 200
        denied = as_token(node, viewer, "POST", "/api/v1/printers", PRINTER | {"id": "nope"})
        assert denied.status == 403 and denied.json()["code"] == "forbidden"
        assert as_token(node, operator, "POST", "/raft/transfer-leadership?to=node1").status == 403
    assert len(as_token(leader, viewer, "GET", "/api/v1/printers").json()) == 3

    listed = cli("tokens", "list", "--url", follower.url, token=secret)
    assert listed.returncode == 0 and "ci-operator" in listed.stdout and "pf_" not in listed.stdout
    assert cli("tokens", "list", "--url", follower.url, token=viewer).returncode != 0

    revoked = cli("tokens", "revoke", made["operator"]["id"], "--url", follower.url, token=secret)
    assert revoked.returncode == 0, revoked.stderr
    for node in cluster.nodes:
        wait_for(lambda node=node: refuses(node, operator), 10, what=f"{node.node_id} to refuse the revoked")
    last = cli("tokens", "revoke", admin["id"], "--url", leader.url, token=secret)
    assert last.returncode != 0 and "last_admin" in last.stderr

    for node in cluster.nodes:
        node.token = secret
    cluster.stop_all()
    for node in cluster.nodes:
        node.start()
    cluster.wait_converged()
    for node in cluster.nodes:
        assert refuses(node, operator) and refuses(node, None)
        assert as_token(node, viewer, "GET", "/api/v1/printers?consistency=stale").status == 200
        assert as_token(node, secret, "POST", "/api/v1/acl/bootstrap").status == 409
    everything = "".join(node.log_text() for node in cluster.nodes)
    for token in (secret, operator, viewer):
        assert token not in everything and token[3:20] not in everything


def test_a_node_listening_beyond_loopback_serves_loopback_clients_while_open(cluster_factory) -> None:
    """Protected mode refuses only non-loopback clients (tests/httpapi/test_access.py: by client address;
    these tests may only use 127.0.0.1)."""
    cluster: Cluster = cluster_factory(1, extra_args=("--http-host", "0.0.0.0"))
    node = cluster.nodes[0]
    node.start(bootstrap=True)
    wait_for(lambda: node.state() == "Leader", 30, what="the node to lead")
    assert node.post("/api/v1/printers", PRINTER).status == 201
    assert node.get("/api/v1/printers").status == 200


def test_a_node_joins_a_cluster_with_access_control_on(cluster_factory) -> None:
    """--join into a bootstrapped cluster: the joining node's POST /join carries its admin token."""
    cluster: Cluster = cluster_factory(2)
    first, second = cluster.nodes
    first.start(bootstrap=True)
    wait_for(lambda: first.state() == "Leader", 30, what="node1 to lead")
    boot = cli("acl", "bootstrap", "--url", first.url)
    assert boot.returncode == 0, boot.stderr
    secret = json.loads(boot.stdout)["token"]
    second.start(join=first.url, extra=["--join-token", secret])

    def members() -> int:
        reply = as_token(first, secret, "GET", "/raft/status")
        return len(reply.json()["members"]) if reply.status == 200 else 0

    wait_for(lambda: members() == 2, 30, what="node2 to join with its token")
