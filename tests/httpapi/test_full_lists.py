"""A list without limit is every object, streamed in slices; a bounded number of them at once per node."""

from __future__ import annotations

import asyncio

import falcon.testing

from farm.commands import CreatePrinter
from farm.views import RecordsView
from httpapi import full_lists
from httpapi.app import create_app
from tests.httpapi.fake_bridge import FakeBridge, problem_of

COUNT = full_lists.SLICE * 2 + 7


def _bridge_with_printers(count: int = COUNT) -> FakeBridge:
    bridge = FakeBridge()

    async def fill() -> None:
        for number in range(count):
            await bridge.write(CreatePrinter(f"p{number:05d}", "HP", "L12"))

    asyncio.run(fill())
    return bridge


def test_a_list_without_limit_streams_every_object_in_order() -> None:
    client = falcon.testing.TestClient(create_app(_bridge_with_printers()))
    result = client.simulate_get("/api/v1/printers")
    assert result.status_code == 200
    assert result.headers["x-total-count"] == str(COUNT)
    assert result.headers["content-type"].startswith("application/json")
    ids = [item["id"] for item in result.json]
    assert ids == [f"p{number:05d}" for number in range(COUNT)]
    assert full_lists.PERMITS.in_use == 0  # the permit came back


def test_a_short_list_without_limit_is_one_body_and_an_empty_one_is_an_empty_array() -> None:
    assert falcon.testing.TestClient(create_app(FakeBridge())).simulate_get("/api/v1/printers").json == []
    result = falcon.testing.TestClient(create_app(_bridge_with_printers(3))).simulate_get("/api/v1/printers")
    assert [item["id"] for item in result.json] == ["p00000", "p00001", "p00002"]


def test_beyond_the_node_s_full_lists_one_more_is_503_with_retry_after() -> None:
    client = falcon.testing.TestClient(create_app(_bridge_with_printers()))
    permits = full_lists.PERMITS
    taken = 0
    while permits.try_take():
        taken += 1
    try:
        result = client.simulate_get("/api/v1/printers")
        assert result.status_code == 503
        assert problem_of(result)["code"] == "too_many_full_lists"
        assert int(result.headers["retry-after"]) > 0
        page = client.simulate_get("/api/v1/printers", params={"limit": "10"})
        assert page.status_code == 200  # pages are not limited
    finally:
        permits.in_use -= taken


def test_a_view_skips_objects_deleted_while_it_is_read_and_compares_like_a_list() -> None:
    class Record:
        def __init__(self, key: str) -> None:
            self.key = key

        def to_dict(self) -> dict[str, str]:
            return {"id": self.key}

    table = {key: Record(key) for key in "abcd"}
    view = RecordsView(table, sorted(table))
    del table["b"]
    assert view.slice(0, 3) == [{"id": "a"}, {"id": "c"}]
    assert view == [{"id": "a"}, {"id": "c"}, {"id": "d"}] and len(view) == 4
    assert view[3] == {"id": "d"} and view[2:] == [{"id": "c"}, {"id": "d"}]
