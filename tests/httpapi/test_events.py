"""GET /api/v1/events: Server-Sent Events framing, resuming with Last-Event-ID or ?after=, keep-alives."""

from __future__ import annotations

import asyncio
import json

import falcon.testing
import pytest

from actors.event_fanout import EventFanout
from farm.commands import CreatePrinter
from farm.results import Event
from httpapi.app import create_app
from tests.httpapi import raw_asgi
from tests.httpapi.fake_bridge import FakeBridge, problem_of
from tests.support.seed import FILAMENT, PRINTER, PRINTER_WORKFLOW


def _frames(text: str) -> list[dict[str, str]]:
    frames = []
    for block in text.split("\n\n"):
        if block.strip():
            frames.append(dict(line.split(": ", 1) for line in block.split("\n")))
    return frames


async def _read_until(stream, predicate, timeout: float = 5.0) -> str:
    """Read the SSE body until `predicate(text)` holds: a bounded wait for a condition."""
    text = ""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate(text):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the stream never satisfied the predicate; got {text!r}")
        chunk = await stream.read()
        text += chunk.decode()
        if not chunk:
            await asyncio.sleep(0.001)
    return text


def _collect(
    bridge: FakeBridge,
    headers: dict | None = None,
    query: str = "",
    writes=(),
    heartbeat: float = 15.0,
    until=lambda text: False,
) -> str:
    async def run() -> str:
        app = create_app(bridge, sse_heartbeat_seconds=heartbeat)
        async with falcon.testing.ASGIConductor(app) as conductor:
            for path, body in writes:
                assert (await conductor.simulate_post(path, json=body)).status_code == 201
            async with conductor.simulate_get_stream(
                "/api/v1/events", headers=headers, query_string=query
            ) as result:
                assert result.status_code == 200
                assert result.headers["content-type"] == "text/event-stream"
                assert result.headers["cache-control"] == "no-cache"
                return await _read_until(result.stream, until)

    return asyncio.run(run())


_WRITES = [
    ("/api/v1/printers", PRINTER),
    ("/api/v1/filaments", FILAMENT),
    ("/api/v1/printers", {**PRINTER, "id": "printer2"}),
]


def test_each_event_is_one_frame_with_id_type_and_json_data() -> None:
    bridge = FakeBridge()
    text = _collect(bridge, query="after=0", writes=_WRITES, until=lambda t: t.count("\n\n") >= 4)
    frames = _frames(text)
    assert [(f.get("id"), f["event"]) for f in frames] == [
        ("1", "printer.created"),
        (None, "filament.created"),
        ("2", "filament.ledger"),
        ("3", "printer.created"),
    ]
    first = json.loads(frames[0]["data"])
    assert first == {"index": 1, "type": "printer.created", "data": {**PRINTER, **PRINTER_WORKFLOW}}
    assert text.endswith("\n\n")


def test_only_the_last_event_of_an_index_carries_the_id() -> None:
    """A job create also updates its filament: resuming from the first of the two must not skip the second."""
    job = {"job_id": "j1", "printer_id": "printer1", "filament_id": "f1", "print_weight_in_grams": 5}
    writes = [*_WRITES, ("/api/v1/print_jobs", job)]
    bridge = FakeBridge()
    text = _collect(bridge, query="after=3", writes=writes, until=lambda t: t.count("\n\n") >= 3)
    frames = _frames(text)
    assert [(f.get("id"), f["event"]) for f in frames] == [
        (None, "job.created"),
        (None, "filament.updated"),
        ("4", "filament.ledger"),
    ]
    assert bridge.event_subscriptions == [3]


def test_last_event_id_resumes_after_that_index() -> None:
    bridge = FakeBridge()
    text = _collect(bridge, headers={"Last-Event-ID": "2"}, writes=_WRITES, until=lambda t: "\n\n" in t)
    assert [f["id"] for f in _frames(text)] == ["3"]
    assert bridge.event_subscriptions == [2]


def test_the_header_wins_over_the_query() -> None:
    bridge = FakeBridge()
    _collect(
        bridge, headers={"Last-Event-ID": "1"}, query="after=2", writes=_WRITES, until=lambda t: "\n\n" in t
    )
    assert bridge.event_subscriptions == [1]


def test_without_a_position_the_stream_starts_at_the_applied_index() -> None:
    bridge = FakeBridge()
    bridge.live_events = True

    async def run() -> list[dict[str, str]]:
        app = create_app(bridge, sse_heartbeat_seconds=0.05)  # a disconnect is noticed at the next send
        async with falcon.testing.ASGIConductor(app) as conductor:
            for path, body in _WRITES[:2]:
                await conductor.simulate_post(path, json=body)
            async with conductor.simulate_get_stream("/api/v1/events") as result:
                await _read_until(result.stream, lambda t: bridge.event_subscriptions == [2])
                await conductor.simulate_post("/api/v1/printers", json={**PRINTER, "id": "live"})
                return _frames(await _read_until(result.stream, lambda t: "\n\n" in t))

    frames = asyncio.run(run())
    assert [(f["id"], json.loads(f["data"])["data"]["id"]) for f in frames] == [("3", "live")]


def test_a_quiet_stream_sends_keep_alive_comments() -> None:
    bridge = FakeBridge()
    bridge.live_events = True
    text = _collect(
        bridge,
        query="after=0",
        writes=_WRITES[:1],
        heartbeat=0.01,
        until=lambda t: t.count(": keep-alive\n\n") >= 2,
    )
    assert _frames(text.split(": keep-alive")[0])[0]["id"] == "1"


def test_the_stream_ends_when_the_bridge_drops_the_consumer() -> None:
    bridge = FakeBridge()  # its events() ends after the backlog, as a real bridge does with a slow consumer
    asyncio.run(bridge.write(CreatePrinter("p1", "HP", "L12")))
    exchange = raw_asgi.call(
        create_app(bridge), "GET", "/api/v1/events", [], [b""], query=b"after=0", stay_connected=True
    )
    assert exchange.status == 200
    assert [f["id"] for f in _frames(exchange.body.decode())] == ["1"]


@pytest.mark.parametrize(
    "headers,query,field",
    [
        ({"Last-Event-ID": "abc"}, "", "Last-Event-ID"),
        ({"Last-Event-ID": "-1"}, "", "Last-Event-ID"),
        ({"Last-Event-ID": "1" * 19}, "", "Last-Event-ID"),
        ({}, "after=-1", "after"),
        ({}, "after=x", "after"),
    ],
)
def test_a_bad_position_is_422(client, headers, query, field) -> None:
    result = client.simulate_get("/api/v1/events", headers=headers, query_string=query)
    assert (result.status_code, problem_of(result)["field"]) == (422, field)


def test_a_resume_point_older_than_the_backlog_is_answered_with_a_reset_event() -> None:
    bridge = FakeBridge()
    bridge.fanout = EventFanout(backlog_events=1)
    text = _collect(
        bridge, headers={"Last-Event-ID": "1"}, writes=_WRITES, until=lambda t: t.count("\n\n") >= 2
    )
    reset, kept = _frames(text)
    assert reset["event"] == "reset" and "id" not in reset
    assert json.loads(reset["data"])["oldest_index"] == 3
    assert kept["id"] == "3"


def test_beyond_the_node_s_cap_a_stream_is_503_too_many_streams_with_retry_after() -> None:
    fake = FakeBridge()
    fake.fanout = EventFanout(max_streams=1)
    fake.fanout.subscribe(0)
    result = falcon.testing.TestClient(create_app(fake)).simulate_get("/api/v1/events")
    assert result.status_code == 503
    assert problem_of(result)["code"] == "too_many_streams"
    assert int(result.headers["retry-after"]) > 0


def test_a_consumer_that_falls_behind_gets_a_final_dropped_event() -> None:
    bridge = FakeBridge()
    bridge.live_events = True
    bridge.fanout = EventFanout(stream_lag=2)

    async def run() -> str:
        app = create_app(bridge)
        conductor = falcon.testing.ASGIConductor(app)
        stream = conductor.simulate_get_stream("/api/v1/events", query_string="after=0")
        async with conductor, stream as result:
            await _read_until(result.stream, lambda t: bridge.fanout.streams == 1)
            # three events in one applied batch: more than the stream may lag
            bridge.publish(*(Event(index, "printer.created", {"id": f"p{index}"}) for index in (1, 2, 3)))
            return await _read_until(result.stream, lambda t: "event: dropped" in t)

    frames = _frames(asyncio.run(run()))
    assert frames[-1]["event"] == "dropped"
    assert json.loads(frames[-1]["data"])["reason"] == "slow_consumer"
    assert bridge.fanout.streams == 0


def test_a_stream_ends_once_its_caller_is_no_longer_allowed() -> None:
    """A stream opened on an open cluster ends once access control is bootstrapped, and one opened with a
    token ends once that token is revoked: at the next event or keep-alive, not at the next reconnect."""
    bridge = FakeBridge()
    bridge.live_events = True

    async def run() -> None:
        app = create_app(bridge, sse_heartbeat_seconds=0.05)
        async with falcon.testing.ASGIConductor(app) as conductor:
            async with conductor.simulate_get_stream("/api/v1/events") as anonymous:
                await _read_until(anonymous.stream, lambda t: ": keep-alive" in t)
                boot = await conductor.simulate_post("/api/v1/acl/bootstrap", remote_addr="127.0.0.1")
                assert boot.status_code == 201
                await asyncio.wait_for(asyncio.shield(anonymous._task), 2)
            admin = {"Authorization": f"Bearer {boot.json['token']}"}
            made = await conductor.simulate_post(
                "/api/v1/tokens", json={"name": "screen", "role": "viewer"}, headers=admin
            )
            viewer = {"Authorization": f"Bearer {made.json['token']}"}
            async with conductor.simulate_get_stream("/api/v1/events", headers=viewer) as watched:
                await _read_until(watched.stream, lambda t: ": keep-alive" in t)
                assert not watched._task.done()
                revoked = await conductor.simulate_delete(f"/api/v1/tokens/{made.json['id']}", headers=admin)
                assert revoked.status_code == 204
                await asyncio.wait_for(asyncio.shield(watched._task), 2)

    asyncio.run(run())
