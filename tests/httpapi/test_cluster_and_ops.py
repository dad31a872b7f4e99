"""Cluster endpoints (/join, /raft/*) and operations (/healthz, /readyz, /metrics, /openapi.json)."""

from __future__ import annotations

import falcon.inspect
import pytest

from httpapi.app import create_app
from httpapi.bridge import PendingChange
from tests.httpapi.fake_bridge import problem_of


def test_join_adds_a_member_and_is_idempotent(client, bridge) -> None:
    for _ in range(2):
        result = client.simulate_post("/join", params={"node_id": "node2", "addr": "127.0.0.1:9002"})
        assert result.status_code == 200
        assert result.json == {"node_id": "node2", "addr": "127.0.0.1:9002", "status": "joined"}
    assert bridge.members["node2"] == "127.0.0.1:9002"
    assert client.simulate_post("/join?node_id=node6&addr=[::1]:9006").status_code == 200
    assert client.simulate_post("/join?node_id=node7&addr=localhost:65535").status_code == 200


def test_join_with_another_address_for_a_member_is_refused(client, bridge) -> None:
    result = client.simulate_post("/join?node_id=node1&addr=127.0.0.1:9999")
    assert (result.status_code, problem_of(result)["code"]) == (409, "address_conflict")
    result = client.simulate_post("/join?node_id=node9&addr=127.0.0.1:9001")
    assert (result.status_code, problem_of(result)["code"]) == (409, "address_conflict")
    assert bridge.members == {"node1": "127.0.0.1:9001"}


def test_a_membership_change_not_committed_in_time_is_503_and_shown_pending(client, bridge) -> None:
    bridge.pending_change = PendingChange(7, "add_learner", "node2", "127.0.0.1:9002")
    result = client.simulate_post("/join?node_id=node2&addr=127.0.0.1:9002")
    assert (result.status_code, problem_of(result)["code"]) == (503, "change_pending")
    assert client.simulate_get("/raft/status").json["pending_change"] == {
        "index": 7,
        "kind": "add_learner",
        "node_id": "node2",
        "addr": "127.0.0.1:9002",
    }


@pytest.mark.parametrize(
    "query,field",
    [
        ("addr=127.0.0.1:9002", "node_id"),
        ("node_id=&addr=127.0.0.1:9002", "node_id"),
        ("node_id=n2", "addr"),
        ("node_id=n2&addr=127.0.0.1", "addr"),
        ("node_id=n2&addr=127.0.0.1:0", "addr"),
        ("node_id=n2&addr=:9002", "addr"),
        ("node_id=n2&addr=127.0.0.1:65536", "addr"),
        ("node_id=n2&addr=tcp://127.0.0.1:9002", "addr"),
        ("node_id=n2&addr=127.0.0.1:09002", "addr"),
        ("node_id=n2&addr=127.0.0.1:9002%0A", "addr"),
        ("node_id=n2&addr=a b:1", "addr"),
    ],
)
def test_join_validates_its_parameters(client, bridge, query, field) -> None:
    result = client.simulate_post("/join", query_string=query)
    assert (result.status_code, problem_of(result)["field"]) == (422, field)
    assert set(bridge.members) == {"node1"}


@pytest.mark.parametrize("role", ["Leader", "Follower", "Candidate"])
def test_raft_state_is_the_bare_word(client, bridge, role) -> None:
    bridge.role = role
    result = client.simulate_get("/raft/state")
    assert result.status_code == 200 and result.content == role.encode()
    assert result.headers["content-type"].split(";")[0] == "text/plain"


def test_raft_status_is_json_of_the_bridge_status(client, bridge) -> None:
    client.simulate_post("/join?node_id=node2&addr=127.0.0.1:9002")
    assert client.simulate_get("/raft/status").json == {
        "node_id": "node1",
        "state": "Leader",
        "term": 3,
        "leader_id": "node1",
        "commit_index": 0,
        "applied_index": 0,
        "members": [
            {"node_id": "node1", "addr": "127.0.0.1:9001", "role": "voter"},
            {"node_id": "node2", "addr": "127.0.0.1:9002", "role": "voter"},
        ],
        "pending_change": None,
    }
    bridge.role = "Candidate"
    assert client.simulate_get("/raft/status").json["leader_id"] is None


def test_remove_member(client, bridge) -> None:
    client.simulate_post("/join?node_id=node2&addr=127.0.0.1:9002")
    result = client.simulate_delete("/raft/members/node2")
    assert result.status_code == 204 and "node2" not in bridge.members
    result = client.simulate_delete("/raft/members/node2")
    assert (result.status_code, problem_of(result)["code"]) == (404, "not_found")


def test_transfer_leadership(client) -> None:
    result = client.simulate_post("/raft/transfer-leadership?to=node1")
    assert result.status_code == 200 and result.json == {"to": "node1", "status": "transferred"}
    result = client.simulate_post("/raft/transfer-leadership?to=ghost")
    assert (result.status_code, problem_of(result)["code"]) == (404, "not_found")
    result = client.simulate_post("/raft/transfer-leadership")
    assert (result.status_code, problem_of(result)["field"]) == (422, "to")


def test_healthz(client) -> None:
    result = client.simulate_get("/healthz")
    assert (result.status_code, result.json) == (200, {"status": "ok"})


def test_readyz(client, bridge) -> None:
    assert client.simulate_get("/readyz").json == {"status": "ready"}
    bridge.ready = False
    result = client.simulate_get("/readyz")
    assert (result.status_code, problem_of(result)["code"]) == (503, "not_ready")
    assert result.headers["retry-after"] == "1"


def test_metrics_come_from_the_bridge(client) -> None:
    result = client.simulate_get("/metrics")
    assert result.status_code == 200 and result.headers["content-type"].startswith("text/plain")
    assert "printfarm_fake_requests_total 1.0" in result.text


def test_openapi_documents_every_route_and_method(client, bridge) -> None:
    document = client.simulate_get("/openapi.json").json
    assert document["openapi"].startswith("3.1")
    served = {}
    for route in falcon.inspect.inspect_routes(create_app(bridge)):
        methods = {m.method.lower() for m in route.methods if m.internal is False and m.method != "OPTIONS"}
        served[route.path] = methods
    documented = {path: {m for m in item if m != "parameters"} for path, item in document["paths"].items()}
    assert documented == served
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert operation["responses"], (path, method)
            assert operation["operationId"]


def test_every_request_is_timed_with_its_route_template(client, bridge) -> None:
    client.simulate_post("/api/v1/printers", json={"id": "p1", "company": "c", "model": "m"})
    client.simulate_get("/api/v1/printers/p1")
    client.simulate_get("/api/v1/printers/ghost")
    client.simulate_get("/nowhere")
    client.simulate_post("/raft/state")
    observed = [(method, route, status) for method, route, status, _ in bridge.observed]
    assert observed == [
        ("POST", "/api/v1/printers", 201),
        ("GET", "/api/v1/printers/{printer_id}", 200),
        ("GET", "/api/v1/printers/{printer_id}", 404),
        ("GET", "unmatched", 404),
        ("POST", "/raft/state", 405),
    ]
    assert all(seconds >= 0 for *_, seconds in bridge.observed)


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_head_without_a_body(client, bridge, path) -> None:
    result = client.simulate_head(path)
    assert result.status_code == 200 and result.content == b""
    bridge.ready = False
    assert client.simulate_head("/readyz").status_code == 503


def test_unusual_methods_are_timed_under_one_label(client, bridge) -> None:
    assert client.simulate_request("BREW", "/healthz").status_code == 400
    assert [(m, r, s) for m, r, s, _ in bridge.observed] == [("OTHER", "/healthz", 400)]
