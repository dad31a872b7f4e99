"""API.md's error table, row by row, and the problem+json rules every error follows."""

from __future__ import annotations

import json

import pytest

from farm.results import Rejected
from httpapi.app import create_app
from httpapi.bridge import NodeStopping, NoLeader, RequestTimeout
from tests.httpapi import raw_asgi
from tests.httpapi.fake_bridge import problem_of
from tests.support.seed import FILAMENT, JOB, PRINTER, PRINTER_WORKFLOW

MAX_BODY = 64 * 1024


def _code(result) -> tuple[int, str]:
    return result.status_code, problem_of(result)["code"]


# --- 400 malformed_json ---


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b'"a string"',
        b"1",
        b"null",
        b'{"id": "p"} trailing',
        b"\xff\xfe{}",
        b"{'id': 'p'}",
        b'{"id": NaN}',
        b'{"id": Infinity}',
        b"[" * 50_000,
    ],
)
def test_a_body_that_is_not_a_json_object_is_400(client, bridge, body) -> None:
    for path in ("/api/v1/printers", "/api/v1/filaments", "/api/v1/print_jobs", "/api/v1/printers/p1"):
        method = "PATCH" if path.endswith("p1") else "POST"
        assert _code(client.simulate_request(method, path, body=body)) == (400, "malformed_json")
    assert bridge.writes == []


# --- 422 invalid_field ---

_LONG = "x" * 129
_BAD_IDS = [5, "", _LONG, "a\nb", "a\x00b", "tab\there", "\u2028", None, ["a"], True, {"a": 1}]
_BAD_WEIGHTS = [1.5, 100.0, True, False, "100", -1, 10_000_001, None, [1]]
_BAD_TEXT = [5, None, ["HP"], {"a": "b"}, False]


def _cases() -> list[tuple[str, dict, str]]:
    cases = []
    for field in ("id", "company", "model"):
        cases.append(("/api/v1/printers", {k: v for k, v in PRINTER.items() if k != field}, field))
    cases += [("/api/v1/printers", {**PRINTER, "id": bad}, "id") for bad in _BAD_IDS]
    cases += [("/api/v1/printers", {**PRINTER, "company": bad}, "company") for bad in _BAD_TEXT]
    cases += [("/api/v1/printers", {**PRINTER, "model": "\ud800"}, "model")]  # a lone surrogate
    for field in ("id", "type", "color", "total_weight_in_grams", "remaining_weight_in_grams"):
        cases.append(("/api/v1/filaments", {k: v for k, v in FILAMENT.items() if k != field}, field))
    for field in ("total_weight_in_grams", "remaining_weight_in_grams"):
        cases += [("/api/v1/filaments", {**FILAMENT, field: bad}, field) for bad in _BAD_WEIGHTS]
    cases.append(
        ("/api/v1/filaments", {**FILAMENT, "remaining_weight_in_grams": 101}, "remaining_weight_in_grams")
    )
    for field in ("job_id", "printer_id", "filament_id", "print_weight_in_grams"):
        cases.append(("/api/v1/print_jobs", {k: v for k, v in JOB.items() if k != field}, field))
    cases += [("/api/v1/print_jobs", {**JOB, "job_id": bad}, "job_id") for bad in _BAD_IDS]
    cases += [
        ("/api/v1/print_jobs", {**JOB, "print_weight_in_grams": bad}, "print_weight_in_grams")
        for bad in _BAD_WEIGHTS
    ]
    cases += [
        ("/api/v1/print_jobs", {**JOB, "status": bad}, "status")
        for bad in ["Running", "queued", "QUEUED", "Canceled", "", 1, None, ["Queued"]]
    ]
    cases += [("/api/v1/print_jobs", {**JOB, "details": bad}, "details") for bad in _BAD_TEXT]
    return cases


@pytest.mark.parametrize("path,body,field", _cases())
def test_invalid_fields_on_create_are_422_naming_the_field(client, bridge, path, body, field) -> None:
    result = client.simulate_post(path, body=json.dumps(body))
    assert _code(result) == (422, "invalid_field"), result.json
    assert problem_of(result)["field"] == field
    assert client.simulate_get(path).json == []


@pytest.mark.parametrize(
    "path,body,field",
    [
        ("/api/v1/printers/printer1", {"company": 5}, "company"),
        ("/api/v1/printers/printer1", {"model": None}, "model"),
        ("/api/v1/filaments/f1", {"total_weight_in_grams": 1.5}, "total_weight_in_grams"),
        ("/api/v1/filaments/f1", {"remaining_weight_in_grams": -1}, "remaining_weight_in_grams"),
        ("/api/v1/filaments/f1", {"remaining_weight_in_grams": True}, "remaining_weight_in_grams"),
        ("/api/v1/filaments/f1", {"color": ["Red"]}, "color"),
        # below the 100 g remaining: the refusal names the field that was sent
        ("/api/v1/filaments/f1", {"total_weight_in_grams": 49}, "total_weight_in_grams"),
    ],
)
def test_invalid_fields_on_patch_are_422_and_change_nothing(seeded, path, body, field) -> None:
    before = seeded.simulate_get(path).json
    result = seeded.simulate_patch(path, json=body)
    assert _code(result) == (422, "invalid_field")
    assert problem_of(result)["field"] == field
    assert seeded.simulate_get(path).json == before


@pytest.mark.parametrize(
    "query,field",
    [
        ("", "status"),
        ("?used_grams=5", "status"),
        ("?status=", "status"),
        ("?status=running", "status"),
        ("?status=Canceled", "status"),
        ("?status=Done%20", "status"),
        ("?status=Done&status=Failed", "status"),
        ("?status=Failed&used_grams=-1", "used_grams"),
        ("?status=Failed&used_grams=1.5", "used_grams"),
        ("?status=Failed&used_grams=abc", "used_grams"),
        ("?status=Failed&used_grams=", "used_grams"),
        ("?status=Failed&used_grams=10000001", "used_grams"),
        ("?status=Failed&used_grams=%205", "used_grams"),
        ("?status=Failed&used_grams=%C2%B2", "used_grams"),
    ],
)
def test_bad_status_changes_are_422(seeded, bridge, query, field) -> None:
    writes = len(bridge.writes)
    result = seeded.simulate_put("/api/v1/print_jobs/job1/status" + query)
    assert _code(result) == (422, "invalid_field") and problem_of(result)["field"] == field
    assert len(bridge.writes) == writes


@pytest.mark.parametrize(
    "path,query,field",
    [
        ("/api/v1/printers", "limit=-1", "limit"),
        ("/api/v1/printers", "limit=abc", "limit"),
        ("/api/v1/filaments", "limit=1.5", "limit"),
        ("/api/v1/filaments", "offset=-3", "offset"),
        ("/api/v1/print_jobs", "offset=", "offset"),
        ("/api/v1/print_jobs", "limit=1000000001", "limit"),
        ("/api/v1/print_jobs", "limit=1001", "limit"),
        ("/api/v1/printers", "limit=1&limit=2", "limit"),
        ("/api/v1/printers", "consistency=Stale", "consistency"),
        ("/api/v1/printers/p1", "consistency=strong", "consistency"),
        ("/api/v1/print_jobs", "status=running", "status"),
        ("/api/v1/print_jobs", "status=Canceled", "status"),
        ("/api/v1/print_jobs", "printer_id=", "printer_id"),
        ("/api/v1/print_jobs", f"filament_id={_LONG}", "filament_id"),
    ],
)
def test_bad_query_parameters_are_422(client, bridge, path, query, field) -> None:
    result = client.simulate_get(path, query_string=query)
    assert _code(result) == (422, "invalid_field") and problem_of(result)["field"] == field
    assert bridge.reads == []


@pytest.mark.parametrize("key", ["k" * 129, "", "caf\u00e9", "tab\tkey"])
def test_a_bad_idempotency_key_is_422(client, bridge, key) -> None:
    result = client.simulate_post("/api/v1/printers", json=PRINTER, headers={"Idempotency-Key": key})
    assert _code(result) == (422, "invalid_field") and problem_of(result)["field"] == "Idempotency-Key"
    assert bridge.writes == []


# --- 404, 405 ---


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api/v1",
        "/api/v1/printer",
        "/api/v2/printers",
        "/raft",
        "/api/v1/printers/a/b",
        "/api/v1/print_jobs/job1/status/x",
    ],
)
def test_unknown_routes_are_404_problems(client, path) -> None:
    assert _code(client.simulate_get(path)) == (404, "not_found")


@pytest.mark.parametrize(
    "method,path",
    [
        ("DELETE", "/api/v1/printers"),
        ("PUT", "/api/v1/filaments"),
        ("PUT", "/api/v1/print_jobs/job1"),
        ("GET", "/api/v1/printers/p1/clear-bed"),
        ("POST", "/api/v1/stats"),
        ("DELETE", "/api/v1/print_jobs/job1"),
        ("GET", "/api/v1/print_jobs/job1/status"),
        ("POST", "/raft/state"),
        ("GET", "/join"),
        ("POST", "/healthz"),
        ("GET", "/raft/transfer-leadership"),
        ("GET", "/raft/members/n1"),
    ],
)
def test_wrong_methods_are_405_problems_with_allow(client, method, path) -> None:
    result = client.simulate_request(method, path)
    assert _code(result) == (405, "method_not_allowed")
    allowed = result.headers["allow"].split(", ")
    assert method not in allowed and "OPTIONS" in allowed and len(allowed) >= 2


# --- 409 already_exists ---


@pytest.mark.parametrize("path,body", [("/api/v1/printers", PRINTER), ("/api/v1/filaments", FILAMENT)])
def test_creating_an_existing_id_is_409_and_keeps_the_first(client, path, body) -> None:
    assert client.simulate_post(path, json=body).status_code == 201
    changed = {**body, "color" if "color" in body else "model": "other"}
    assert _code(client.simulate_post(path, json=changed)) == (409, "already_exists")
    assert client.simulate_get(path).json[0][("color" if "color" in body else "model")] == body.get(
        "color", body.get("model")
    )


def test_lowering_remaining_below_what_jobs_reserved_is_409_and_changes_nothing(seeded) -> None:
    before = seeded.simulate_get("/api/v1/filaments/f1").json
    result = seeded.simulate_patch("/api/v1/filaments/f1", json={"remaining_weight_in_grams": 49})
    assert _code(result) == (409, "insufficient_filament")
    assert seeded.simulate_get("/api/v1/filaments/f1").json == before


# --- 413 too_large ---


def _padded_printer(size: int) -> bytes:
    empty = json.dumps({**PRINTER, "model": ""}).encode()
    return json.dumps({**PRINTER, "model": "m" * (size - len(empty))}).encode()


def test_a_body_of_exactly_64_kib_is_accepted(client) -> None:
    body = _padded_printer(MAX_BODY)
    assert len(body) == MAX_BODY
    assert client.simulate_post("/api/v1/printers", body=body).status_code == 201


def test_a_body_over_64_kib_is_413(client, bridge) -> None:
    assert _code(client.simulate_post("/api/v1/printers", body=_padded_printer(MAX_BODY + 1))) == (
        413,
        "too_large",
    )
    assert bridge.writes == []


def test_a_declared_length_over_64_kib_is_413_before_reading(bridge) -> None:
    headers = [(b"content-length", str(MAX_BODY + 1).encode())]
    exchange = raw_asgi.call(create_app(bridge), "POST", "/api/v1/printers", headers, [b"{}"])
    assert exchange.status == 413 and json.loads(exchange.body)["code"] == "too_large"
    assert exchange.receive_calls == 1  # only the first event, which falcon takes before routing


def test_a_chunked_body_over_64_kib_is_413(bridge) -> None:
    """No Content-Length at all: the body actually read is what counts."""
    body = _padded_printer(MAX_BODY + 10)
    chunks = [body[i : i + 4096] for i in range(0, len(body), 4096)]
    headers = [(b"transfer-encoding", b"chunked")]
    exchange = raw_asgi.call(create_app(bridge), "POST", "/api/v1/printers", headers, chunks)
    assert exchange.status == 413
    assert exchange.headers[b"content-type"] == b"application/problem+json"
    assert json.loads(exchange.body)["code"] == "too_large"
    assert bridge.writes == []


def test_a_chunked_body_within_64_kib_is_read_whole(bridge) -> None:
    body = _padded_printer(MAX_BODY)
    chunks = [body[i : i + 1000] for i in range(0, len(body), 1000)]
    exchange = raw_asgi.call(create_app(bridge), "POST", "/api/v1/printers", [], chunks)
    assert exchange.status == 201 and json.loads(exchange.body)["model"] == json.loads(body)["model"]


# --- 503 no_leader, 504 timeout, 503 stopping ---


def test_no_leader_is_503_with_retry_after_for_writes_and_linearizable_reads(seeded, bridge) -> None:
    bridge.failure = NoLeader()
    for result in (
        seeded.simulate_post("/api/v1/printers", json={**PRINTER, "id": "p2"}),
        seeded.simulate_patch("/api/v1/printers/printer1", json={"model": "x"}),
        seeded.simulate_delete("/api/v1/filaments/f1"),
        seeded.simulate_put("/api/v1/print_jobs/job1/status?status=Running"),
        seeded.simulate_get("/api/v1/printers"),
        seeded.simulate_get("/api/v1/print_jobs/job1", params={"consistency": "linearizable"}),
        seeded.simulate_post("/join?node_id=n2&addr=127.0.0.1:9002"),
        seeded.simulate_delete("/raft/members/node1"),
        seeded.simulate_post("/raft/transfer-leadership?to=node1"),
    ):
        assert _code(result) == (503, "no_leader")
        assert result.headers["retry-after"] == "1"
    stale = seeded.simulate_get("/api/v1/printers", params={"consistency": "stale"})
    assert stale.status_code == 200 and stale.json == [{**PRINTER, **PRINTER_WORKFLOW, "queue_length": 1}]


@pytest.mark.parametrize(
    "failure,expected", [(RequestTimeout(), (504, "timeout")), (NodeStopping(), (503, "stopping"))]
)
def test_other_bridge_failures(client, bridge, failure, expected) -> None:
    bridge.failure = failure
    assert _code(client.simulate_post("/api/v1/printers", json=PRINTER)) == expected
    assert _code(client.simulate_get("/api/v1/filaments")) == expected


def test_an_unexpected_failure_is_a_500_problem(client, bridge) -> None:
    async def broken(*args, **kwargs):
        raise RuntimeError("boom")

    bridge.read = broken
    assert _code(client.simulate_get("/api/v1/printers")) == (500, "internal_error")


@pytest.mark.parametrize("code", ["malformed_command", "malformed_query"])
def test_the_farm_refusing_to_read_what_the_http_layer_built_is_a_500(client, bridge, code) -> None:
    async def refuse(*args, **kwargs):
        return Rejected(code, "ListEverything is not a farm query")

    bridge.read = refuse
    assert _code(client.simulate_get("/api/v1/printers")) == (500, "internal_error")


def test_a_cluster_refusal_with_an_unknown_code_is_409(client, bridge) -> None:
    async def refuse(node_id, addr):
        return Rejected("membership_change_in_progress", "another change is being applied")

    bridge.join = refuse
    result = client.simulate_post("/join?node_id=n2&addr=127.0.0.1:9002")
    assert _code(result) == (409, "membership_change_in_progress")
    assert problem_of(result)["detail"] == "another change is being applied"
