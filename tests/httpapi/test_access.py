"""Access control at the HTTP layer with the fake bridge: every role x every route, 401 vs 403, header
variants, protected mode by client address, and no secret in any answer or log record."""

from __future__ import annotations

import logging
import re

import falcon.inspect
import falcon.testing
import pytest

from httpapi.access import AccessOptions
from httpapi.app import create_app
from tests.httpapi import raw_asgi
from tests.httpapi.fake_bridge import FakeBridge, problem_of
from tests.support.seed import FILAMENT, JOB, PRINTER

LOOPBACK = "127.0.0.1"
REMOTE = "203.0.113.7"
ROLES = ("viewer", "operator", "admin")
_FARM = ("/api/v1/printers", "/api/v1/filaments", "/api/v1/print_jobs")
_ALWAYS_OPEN = {"/healthz", "/readyz"}
# the dashboard's page and files hold no data: anyone may fetch them (the page asks for a token itself)
_DASHBOARD = {"/", "/dashboard/{asset}"}


def expected_role(method: str, template: str) -> str:
    """API.md's table, restated: every GET is a viewer's (but the token list), farm writes an operator's,
    the rest an admin's."""
    if template.startswith("/api/v1/tokens"):
        return "admin"
    if method in ("GET", "HEAD"):
        return "viewer"
    return "operator" if template.startswith(_FARM) else "admin"


def routes(app) -> list[tuple[str, str]]:
    found = []
    for route in falcon.inspect.inspect_routes(app):
        for method in route.methods:
            if not method.internal and method.method != "OPTIONS":
                found.append((method.method, route.path))
    return sorted(found)


class Closed:
    """A client of an app whose cluster was bootstrapped, with one token per role."""

    def __init__(self, options: AccessOptions | None = None) -> None:
        self.bridge = FakeBridge()
        self.refusals: list[str] = []
        options = options or AccessOptions(on_refusal=self.refusals.append)
        self.client = falcon.testing.TestClient(create_app(self.bridge, access=options))
        self.answers: list[falcon.testing.Result] = []
        for path, body in (("/api/v1/printers", PRINTER), ("/api/v1/filaments", FILAMENT),
                           ("/api/v1/print_jobs", JOB)):  # fmt: skip
            assert self.request("POST", path, json=body).status_code == 201
        boot = self.request("POST", "/api/v1/acl/bootstrap", json={"name": "root"})
        assert boot.status_code == 201, boot.text
        self.secrets = {"admin": boot.json["token"]}
        for role in ("viewer", "operator"):
            made = self.request("POST", "/api/v1/tokens", json={"name": role, "role": role}, role="admin")
            assert made.status_code == 201, made.text
            self.secrets[role] = made.json["token"]

    def request(self, method: str, path: str, *, role: str | None = None, headers=None, **kwargs):
        all_headers = dict(headers or {})
        if role is not None:
            all_headers["Authorization"] = f"Bearer {self.secrets[role]}"
        kwargs.setdefault("remote_addr", LOOPBACK)
        result = self.client.simulate_request(method, path, headers=all_headers, **kwargs)
        self.answers.append(result)
        return result


@pytest.fixture
def closed() -> Closed:
    return Closed()


def _concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", template)


def test_bootstrap_answers_an_admin_token_once(closed) -> None:
    secret = closed.secrets["admin"]
    assert re.fullmatch(r"pf_[A-Za-z0-9_-]{43}", secret)
    again = closed.request("POST", "/api/v1/acl/bootstrap")
    assert (again.status_code, problem_of(again)["code"]) == (409, "already_bootstrapped")
    listed = closed.request("GET", "/api/v1/tokens", role="admin")
    assert listed.status_code == 200
    assert [(t["name"], t["role"]) for t in listed.json] == [
        ("root", "admin"), ("viewer", "viewer"), ("operator", "operator")]  # fmt: skip
    assert all(set(t) == {"id", "name", "role", "created_at"} for t in listed.json)


def test_an_open_cluster_serves_everyone_as_the_seed_did() -> None:
    client = falcon.testing.TestClient(create_app(FakeBridge()))
    assert client.simulate_post("/api/v1/printers", json=PRINTER).status_code == 201
    assert client.simulate_get("/api/v1/printers").status_code == 200
    assert client.simulate_post("/join?node_id=node2&addr=127.0.0.1:9002").status_code == 200


def test_every_role_on_every_route(closed) -> None:
    app_routes = routes(create_app(FakeBridge()))
    assert ("DELETE", "/api/v1/tokens/{token_id}") in app_routes and len(app_routes) > 20
    for method, template in app_routes:
        path = _concrete(template)
        if template in _ALWAYS_OPEN:
            for role in (None, *ROLES):
                assert closed.request(method, path, role=role).status_code == 200, (method, path, role)
            continue
        if template in _DASHBOARD:
            for role in (None, *ROLES):
                assert closed.request(method, path, role=role).status_code in (200, 404), (method, path, role)
            continue
        if template == "/api/v1/acl/bootstrap":
            for role in (None, *ROLES):
                assert closed.request(method, path, role=role).status_code == 409
            continue
        nobody = closed.request(method, path)
        assert (nobody.status_code, problem_of(nobody)["code"]) == (401, "unauthenticated"), (method, path)
        assert nobody.headers["www-authenticate"] == "Bearer"
        needed = ROLES.index(expected_role(method, template))
        for rank, role in enumerate(ROLES):
            result = closed.request(method, path, role=role, json={})
            if rank < needed:
                assert (result.status_code, problem_of(result)["code"]) == (403, "forbidden"), (
                    method, path, role)  # fmt: skip
            else:
                assert result.status_code not in (401, 403), (method, path, role, result.text)


def test_roles_do_what_api_md_says(closed) -> None:
    assert closed.request("GET", "/api/v1/printers", role="viewer").status_code == 200
    assert closed.request("GET", "/metrics", role="viewer").status_code == 200
    assert closed.request("GET", "/raft/status", role="viewer").status_code == 200
    assert (
        closed.request("POST", "/api/v1/printers", role="viewer", json=PRINTER | {"id": "p2"}).status_code
        == 403
    )
    assert (
        closed.request("POST", "/api/v1/printers", role="operator", json=PRINTER | {"id": "p2"}).status_code
        == 201
    )
    put = closed.request(
        "PUT", "/api/v1/print_jobs/job1/status", role="operator", params={"status": "Running"}
    )
    assert put.status_code == 200
    join = "/join?node_id=node2&addr=127.0.0.1:9002"
    assert closed.request("POST", join, role="operator").status_code == 403
    assert closed.request("POST", join, role="admin").status_code == 200
    assert closed.request("POST", "/api/v1/tokens", role="operator", json={"name": "x", "role": "viewer"}
                          ).status_code == 403  # fmt: skip


def test_a_revoked_token_is_refused_and_the_last_admin_stays(closed) -> None:
    listed = closed.request("GET", "/api/v1/tokens", role="admin").json
    ids = {t["name"]: t["id"] for t in listed}
    assert closed.request("DELETE", f"/api/v1/tokens/{ids['operator']}", role="admin").status_code == 204
    result = closed.request("GET", "/api/v1/printers", role="operator")
    assert (result.status_code, problem_of(result)["code"]) == (401, "unauthenticated")
    last = closed.request("DELETE", f"/api/v1/tokens/{ids['root']}", role="admin")
    assert (last.status_code, problem_of(last)["code"]) == (409, "last_admin")
    assert closed.request("DELETE", "/api/v1/tokens/nope", role="admin").status_code == 404


@pytest.mark.parametrize(
    "make,ok",
    [
        (lambda s: f"Bearer {s}", True),
        (lambda s: f"bearer {s}", True),
        (lambda s: f"BeArEr {s}", True),
        (lambda s: f"Bearer    {s}   ", True),
        (lambda s: f"  Bearer {s}", True),
        (lambda s: "Bearer", False),
        (lambda s: "Bearer ", False),
        (lambda s: s, False),
        (lambda s: f"Basic {s}", False),
        (lambda s: f"Bearer {s} {s}", False),
        (lambda s: f"Bearer {s}x", False),
        (lambda s: f"Bearer {s[:-1]}", False),
        (lambda s: f"Bearer\t{s}", False),
        (lambda s: f"Token {s}", False),
    ],
)
def test_authorization_header_variants(closed, make, ok) -> None:
    result = closed.request(
        "GET", "/api/v1/printers", headers={"Authorization": make(closed.secrets["viewer"])}
    )
    if ok:
        assert result.status_code == 200
    else:
        assert (result.status_code, problem_of(result)["code"]) == (401, "unauthenticated")
        assert result.headers["www-authenticate"] == "Bearer"


def test_two_authorization_headers_are_refused(closed) -> None:
    app = closed.client.app
    one = f"Bearer {closed.secrets['admin']}".encode()
    assert raw_asgi.call(app, "GET", "/api/v1/printers", [(b"authorization", one)], [b""]).status == 200
    for second in (one, f"Bearer {closed.secrets['viewer']}".encode(), b"Basic eA=="):
        headers = [(b"authorization", one), (b"authorization", second)]
        exchange = raw_asgi.call(app, "GET", "/api/v1/printers", headers, [b""])
        assert exchange.status == 401 and b'"unauthenticated"' in exchange.body
        assert exchange.headers[b"www-authenticate"] == b"Bearer"


@pytest.mark.parametrize("name", ["access_token", "token", "Access_Token"])
def test_a_token_in_the_query_string_is_refused(closed, name) -> None:
    secret = closed.secrets["admin"]
    result = closed.request("GET", "/api/v1/printers", params={name: secret})
    assert (result.status_code, problem_of(result)["code"]) == (401, "unauthenticated")
    with_header = closed.request("GET", "/api/v1/printers", role="admin", params={name: secret})
    assert with_header.status_code == 401
    assert "token_in_query" in closed.refusals


def test_bootstrap_only_from_loopback() -> None:
    client = falcon.testing.TestClient(create_app(FakeBridge()))
    result = client.simulate_post("/api/v1/acl/bootstrap", remote_addr=REMOTE)
    assert (result.status_code, problem_of(result)["code"]) == (403, "forbidden")
    for loopback in ("127.0.0.1", "127.9.8.7", "::1"):
        bridge = FakeBridge()
        ok = falcon.testing.TestClient(create_app(bridge)).simulate_post(
            "/api/v1/acl/bootstrap", remote_addr=loopback
        )
        assert (
            ok.status_code == 201 and ok.json["role"] == "admin" and ok.headers["cache-control"] == "no-store"
        )
        assert not bridge.tokens().open


def test_protected_mode_by_client_address() -> None:
    refusals: list[str] = []
    options = AccessOptions(listen_host="0.0.0.0", on_refusal=refusals.append)
    client = falcon.testing.TestClient(create_app(FakeBridge(), access=options))
    remote = client.simulate_get("/api/v1/printers", remote_addr=REMOTE)
    problem = problem_of(remote)
    assert (remote.status_code, problem["code"]) == (403, "protected_mode")
    assert "--open" in problem["detail"] and "bootstrap" in problem["detail"]
    assert refusals == ["protected_mode"]
    assert client.simulate_get("/healthz", remote_addr=REMOTE).status_code == 200
    assert client.simulate_get("/readyz", remote_addr=REMOTE).status_code == 200
    for loopback in (LOOPBACK, "::1", "::ffff:127.0.0.1"):
        assert client.simulate_get("/api/v1/printers", remote_addr=loopback).status_code == 200
    spoofed = client.simulate_get(
        "/api/v1/printers", remote_addr=REMOTE, headers={"X-Forwarded-For": LOOPBACK}
    )
    assert spoofed.status_code == 403
    boot = client.simulate_post("/api/v1/acl/bootstrap", remote_addr=LOOPBACK)
    assert boot.status_code == 201
    # once bootstrapped, protected mode is over: a token is what counts, from any address
    secret = boot.json["token"]
    assert client.simulate_get("/api/v1/printers", remote_addr=REMOTE).status_code == 401
    authed = client.simulate_get(
        "/api/v1/printers", remote_addr=REMOTE, headers={"Authorization": f"Bearer {secret}"}
    )
    assert authed.status_code == 200


def test_open_on_purpose_serves_remote_clients() -> None:
    options = AccessOptions(listen_host="0.0.0.0", serve_open=True)
    client = falcon.testing.TestClient(create_app(FakeBridge(), access=options))
    assert client.simulate_get("/api/v1/printers", remote_addr=REMOTE).status_code == 200
    loopback_only = falcon.testing.TestClient(create_app(FakeBridge(), access=AccessOptions()))
    assert loopback_only.simulate_get("/api/v1/printers", remote_addr=REMOTE).status_code == 200


def test_the_leader_authorizes_too(closed) -> None:
    """A write the HTTP layer let through as an open cluster's is refused by the leader once it knows the
    cluster is closed (the fake's write authorizes with the caller's role like the leader does)."""
    import asyncio

    from farm.commands import CreatePrinter
    from httpapi.bridge import CALLER_ROLE

    async def as_caller(role):
        CALLER_ROLE.set(role)
        return await closed.bridge.write(CreatePrinter("p9", "HP", "L12"))

    assert asyncio.run(as_caller(None)).code == "unauthenticated"
    assert asyncio.run(as_caller("viewer")).code == "forbidden"
    assert type(asyncio.run(as_caller("operator"))).__name__ == "Ok"


def test_no_secret_in_any_answer_or_log_record(closed, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = list(closed.secrets.values())
    for secret in secrets:
        closed.request("GET", "/api/v1/printers", params={"access_token": secret})
        closed.request("GET", "/api/v1/printers", headers={"Authorization": f"Bearer {secret}x"})
        closed.request("GET", "/api/v1/printers", headers={"Authorization": f"Basic {secret}"})
        closed.request("POST", "/api/v1/tokens", role="viewer", json={"name": "x", "role": "admin"})
        closed.request("GET", "/api/v1/tokens", role="admin")
        closed.request("GET", "/metrics", role="admin")
        closed.request("GET", "/openapi.json", role="admin")
        closed.request("GET", "/raft/status", role="admin")
        closed.request("GET", "/api/v1/events", role="admin")
    made = closed.request("POST", "/api/v1/tokens", role="admin", json={"name": "new", "role": "viewer"})
    secrets.append(made.json["token"])
    creations = [r for r in closed.answers if r.status_code == 201 and "token" in (r.json or {})]
    assert len(creations) == 4
    for result in closed.answers:
        if result in creations:
            continue
        blob = result.text + repr(result.headers)
        for secret in secrets:
            assert secret not in blob and secret[3:20] not in blob
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    for secret in secrets:
        assert secret[3:20] not in logged
    assert all(secret[3:20] not in reason for reason in closed.refusals for secret in secrets)
    state = closed.bridge.state.snapshot()
    assert all(secret.encode() not in state for secret in secrets)


def test_the_bootstrap_body_is_optional_but_never_anything_but_an_object() -> None:
    client = falcon.testing.TestClient(create_app(FakeBridge()))
    for body in ("[1]", "{", '"root"'):
        refused = client.simulate_post("/api/v1/acl/bootstrap", body=body, remote_addr=LOOPBACK)
        assert (refused.status_code, problem_of(refused)["code"]) == (400, "malformed_json"), body
    oversized = client.simulate_post(
        "/api/v1/acl/bootstrap", body=" " * (64 * 1024 + 1), remote_addr=LOOPBACK
    )
    assert oversized.status_code == 413
    boot = client.simulate_post("/api/v1/acl/bootstrap", body=" \n ", remote_addr=LOOPBACK)
    assert boot.status_code == 201 and boot.json["role"] == "admin"
