"""Printers and filaments: create, list (paging, X-Total-Count, consistency), get, patch, delete."""

from __future__ import annotations

import pytest

from farm.queries import GetFilament, GetPrinter, ListFilaments, ListJobs, ListPrinters
from tests.httpapi.fake_bridge import problem_of
from tests.support.seed import FILAMENT, FILAMENT_WORKFLOW, PRINTER, PRINTER_WORKFLOW


def _printer(i: int) -> dict:
    return {"id": f"p{i}", "company": "Prusa", "model": f"MK{i}"}


def test_create_printer_answers_201_with_location(client) -> None:
    result = client.simulate_post("/api/v1/printers", json={"id": "a b?c", "company": "HP", "model": "L12"})
    assert result.status_code == 201
    assert result.headers["location"] == "/api/v1/printers/a%20b%3Fc"
    assert result.headers["content-type"] == "application/json"


def test_list_pages_with_total_count(client, bridge) -> None:
    for i in (3, 1, 2, 4):
        assert client.simulate_post("/api/v1/printers", json=_printer(i)).status_code == 201
    everything = client.simulate_get("/api/v1/printers")
    assert [p["id"] for p in everything.json] == ["p1", "p2", "p3", "p4"]
    assert everything.headers["x-total-count"] == "4"
    page = client.simulate_get("/api/v1/printers", params={"limit": "2", "offset": "1"})
    assert [p["id"] for p in page.json] == ["p2", "p3"]
    assert page.headers["x-total-count"] == "4"
    assert client.simulate_get("/api/v1/printers?limit=0").json == []
    assert bridge.reads[-2:] == [(ListPrinters(2, 1), "linearizable"), (ListPrinters(0, 0), "linearizable")]


@pytest.mark.parametrize(
    "path,query",
    [
        ("/api/v1/printers", ListPrinters()),
        ("/api/v1/filaments", ListFilaments()),
        ("/api/v1/print_jobs", ListJobs()),
        ("/api/v1/printers/p1", GetPrinter("p1")),
        ("/api/v1/filaments/f1", GetFilament("f1")),
    ],
)
@pytest.mark.parametrize("consistency", ["linearizable", "stale"])
def test_reads_pass_the_consistency_on(client, bridge, path, query, consistency) -> None:
    client.simulate_get(path, params={"consistency": consistency})
    assert bridge.reads == [(query, consistency)]


def test_printer_get_patch_delete(client) -> None:
    client.simulate_post("/api/v1/printers", json=PRINTER)
    assert client.simulate_get("/api/v1/printers/printer1").json == {**PRINTER, **PRINTER_WORKFLOW}
    patched = client.simulate_patch("/api/v1/printers/printer1", json={"model": "L14", "id": "ignored"})
    assert patched.status_code == 200 and patched.json == {**PRINTER, **PRINTER_WORKFLOW, "model": "L14"}
    assert client.simulate_get("/api/v1/printers/printer1").json["model"] == "L14"
    deleted = client.simulate_delete("/api/v1/printers/printer1")
    assert deleted.status_code == 204 and deleted.content == b""
    assert problem_of(client.simulate_get("/api/v1/printers/printer1"))["code"] == "not_found"
    assert problem_of(client.simulate_delete("/api/v1/printers/printer1"))["code"] == "not_found"


def test_filament_get_patch_delete(client) -> None:
    client.simulate_post("/api/v1/filaments", json=FILAMENT)
    got = client.simulate_get("/api/v1/filaments/f1").json
    assert got == {
        **FILAMENT,
        "reserved_weight_in_grams": 0,
        "available_weight_in_grams": 100,
        **FILAMENT_WORKFLOW,
    }
    patched = client.simulate_patch(
        "/api/v1/filaments/f1", json={"color": "Red", "remaining_weight_in_grams": 80}
    )
    assert patched.status_code == 200
    assert patched.json["color"] == "Red" and patched.json["available_weight_in_grams"] == 80
    assert client.simulate_delete("/api/v1/filaments/f1").status_code == 204
    assert client.simulate_get("/api/v1/filaments").json == []


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/api/v1/printers/nope"),
        ("PATCH", "/api/v1/printers/nope"),
        ("DELETE", "/api/v1/printers/nope"),
        ("GET", "/api/v1/filaments/nope"),
        ("PATCH", "/api/v1/filaments/nope"),
        ("DELETE", "/api/v1/filaments/nope"),
        ("GET", "/api/v1/print_jobs/nope"),  # jobs have no PATCH/DELETE (405, tested with the errors)
    ],
)
def test_unknown_ids_are_404(client, method, path) -> None:
    result = client.simulate_request(method, path, json={} if method == "PATCH" else None)
    assert result.status_code == 404 and problem_of(result)["code"] == "not_found"


def test_ids_that_could_never_exist_are_404_without_asking(client, bridge) -> None:
    result = client.simulate_get("/api/v1/printers/" + "x" * 129)
    assert problem_of(result)["code"] == "not_found"
    assert bridge.reads == []


def test_unknown_body_fields_are_ignored(client) -> None:
    result = client.simulate_post(
        "/api/v1/printers", json={**PRINTER, "colour": "green", "nested": {"a": [1]}}
    )
    assert result.status_code == 201 and result.json == {**PRINTER, **PRINTER_WORKFLOW}
