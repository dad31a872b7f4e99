"""Idempotency-Key rules the HTTP layer adds to the farm's: a key names one request."""

from __future__ import annotations

from tests.httpapi.fake_bridge import problem_of
from tests.support.seed import FILAMENT, PRINTER, PRINTER_WORKFLOW


def test_a_key_reused_for_another_request_is_422_and_applies_nothing(client, bridge) -> None:
    headers = {"Idempotency-Key": "shared-key"}
    assert client.simulate_post("/api/v1/printers", json=PRINTER, headers=headers).status_code == 201
    reused = client.simulate_post("/api/v1/filaments", json=FILAMENT, headers=headers)
    problem = problem_of(reused)
    assert (reused.status_code, problem["code"]) == (422, "idempotency_key_reused"), problem
    assert "shared-key" in problem["detail"] and "field" not in problem
    assert client.simulate_get("/api/v1/filaments").json == []
    assert [e.type for e in bridge.published] == ["printer.created"]
    again = client.simulate_post("/api/v1/printers", json=PRINTER, headers=headers)
    assert (again.status_code, again.json) == (201, {**PRINTER, **PRINTER_WORKFLOW})


def test_keys_starting_with_a_tilde_are_reserved_for_the_cluster(client, bridge) -> None:
    result = client.simulate_post(
        "/api/v1/printers", json=PRINTER, headers={"Idempotency-Key": "~AAAAAAAAAAAAAAAAAAAAAA"}
    )
    problem = problem_of(result)
    assert (result.status_code, problem["code"], problem["field"]) == (
        422,
        "invalid_field",
        "Idempotency-Key",
    )
    assert "~" in problem["detail"] and "reserved" in problem["detail"]
    assert bridge.writes == []
    tilde_inside = client.simulate_post("/api/v1/printers", json=PRINTER, headers={"Idempotency-Key": "a~b"})
    assert tilde_inside.status_code == 201 and bridge.writes[-1][1] == "a~b"
