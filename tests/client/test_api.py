"""client.Client on httpx's MockTransport: URL order, retries with one Idempotency-Key, typed problems."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from client import ApiError, Client, ClientError, Unreachable, parse_urls

A, B = "http://127.0.0.1:1", "http://127.0.0.1:2"
PROBLEM = {
    "type": "urn:printfarm:problem:invalid_transition",
    "title": "Invalid status transition",
    "status": 409,
    "detail": "job j1 is Done; a finished job never changes again",
    "code": "invalid_transition",
}


class Recorder:
    """A fake cluster: `answers` maps a base URL to a list of answers (an int status, a dict body for 200, or
    an exception to raise), consumed in order; every request is recorded."""

    def __init__(self, answers: dict[str, list[object]]) -> None:
        self.answers = answers
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        base = f"{request.url.scheme}://{request.url.host}:{request.url.port}"
        answer = self.answers[base].pop(0)
        if isinstance(answer, Exception):
            raise answer
        if answer == 503:
            body = {**PROBLEM, "status": 503, "code": "no_leader", "detail": "No leader is known right now."}
            return httpx.Response(503, json=body, headers={"Content-Type": "application/problem+json"})
        if answer == 409:
            return httpx.Response(409, json=PROBLEM, headers={"Content-Type": "application/problem+json"})
        return httpx.Response(200, json=answer)


def client(recorder: Recorder, **kwargs: object) -> Client:
    return Client([A, B], transport=httpx.MockTransport(recorder), **kwargs)  # type: ignore[arg-type]


def refused() -> httpx.ConnectError:
    return httpx.ConnectError("refused")


def test_urls_come_from_a_comma_separated_list_and_bad_ones_are_refused() -> None:
    assert parse_urls(" http://a:1/, http://b:2 ,") == ["http://a:1", "http://b:2"]
    with pytest.raises(ValueError):
        parse_urls("a:1")
    for bad in (" , ", "http://", "http://[::1", "http://127.0.0.1:99999", "http://h:port"):
        with pytest.raises(ValueError):
            parse_urls(bad)


def test_an_unreachable_first_url_is_skipped_and_the_answering_one_is_asked_first_next_time() -> None:
    recorder = Recorder({A: [refused()], B: [[{"id": "p1"}], [{"id": "p2"}]]})
    farm = client(recorder)
    assert farm.printers() == [{"id": "p1"}]
    assert farm.printers() == [{"id": "p2"}]
    assert [str(r.url) for r in recorder.seen] == [f"{A}/api/v1/printers", *[f"{B}/api/v1/printers"] * 2]


def test_a_write_is_retried_with_the_same_idempotency_key_after_a_503_and_a_connection_error() -> None:
    recorder = Recorder({A: [503, refused()], B: [httpx.ReadTimeout("slow"), {"job_id": "j1"}]})
    assert client(recorder).set_job_status("j1", "Running") == {"job_id": "j1"}
    keys = {request.headers["Idempotency-Key"] for request in recorder.seen}
    assert len(recorder.seen) == 4 and len(keys) == 1 and len(keys.pop()) == 32
    assert all(r.url.params["status"] == "Running" for r in recorder.seen)


def test_each_write_has_its_own_key_and_reads_have_none() -> None:
    recorder = Recorder({A: [{"id": "p"}, {"id": "q"}, []], B: []})
    farm = client(recorder)
    farm.create_printer("p", "c", "m")
    farm.create_printer("q", "c", "m")
    farm.printers()
    first, second, read = recorder.seen
    assert first.headers["Idempotency-Key"] != second.headers["Idempotency-Key"]
    assert "Idempotency-Key" not in read.headers
    assert json.loads(first.content) == {"id": "p", "company": "c", "model": "m"}


def test_a_refusal_is_an_api_error_carrying_the_problem_and_is_not_retried() -> None:
    recorder = Recorder({A: [409], B: []})
    with pytest.raises(ApiError) as caught:
        client(recorder).set_job_status("j1", "Running")
    error = caught.value
    assert (error.status, error.code, error.detail, error.refused) == (
        409,
        "invalid_transition",
        PROBLEM["detail"],
        True,
    )
    assert error.type == PROBLEM["type"] and error.title == PROBLEM["title"]
    assert len(recorder.seen) == 1


def test_503_everywhere_ends_as_an_api_error_once_the_retries_run_out() -> None:
    recorder = Recorder({A: [503] * 100, B: [503] * 100})
    with pytest.raises(ApiError) as caught:
        client(recorder, retry_for=0.3).printers()
    assert (caught.value.status, caught.value.code, caught.value.refused) == (503, "no_leader", False)
    assert len(recorder.seen) >= 4  # both nodes, more than once


def test_no_node_answering_is_unreachable() -> None:
    recorder = Recorder({A: [refused()] * 100, B: [refused()] * 100})
    with pytest.raises(Unreachable) as caught:
        client(recorder, retry_for=0.2).printers()
    assert caught.value.urls == [A, B] and "refused" in str(caught.value)


def test_token_and_stale_consistency_go_on_every_request() -> None:
    recorder = Recorder({A: [[], {"job_id": "j"}], B: []})
    farm = client(recorder, token="s3cret", consistency="stale")
    farm.jobs(status="Queued")
    farm.job("j")
    assert all(r.headers["Authorization"] == "Bearer s3cret" for r in recorder.seen)
    assert [dict(r.url.params) for r in recorder.seen] == [
        {"status": "Queued", "consistency": "stale"},
        {"consistency": "stale"},
    ]


def test_events_parse_the_stream_and_resume_with_last_event_id_after_a_drop() -> None:
    streams = [
        ": keep-alive\n\n"
        'event: printer.created\ndata: {"index":7,"type":"printer.created","data":{"id":"p"}}\nid: 7\n\n'
        'event: job.created\ndata: {"index":8,"type":"job.created","data":{"job_id":"j"}}\n\n',
        'event: filament.updated\ndata: {"index":8,"type":"filament.updated","data":{"id":"f"}}\nid: 8\n\n',
    ]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, content=streams.pop(0).encode(), headers={"Content-Type": "text/event-stream"}
        )

    farm = Client(A, transport=httpx.MockTransport(handler))
    events = farm.events(after=3)
    got = [next(events) for _ in range(3)]
    assert [(e.index, e.type, e.id) for e in got] == [
        (7, "printer.created", "7"),
        (8, "job.created", None),
        (8, "filament.updated", "8"),
    ]
    assert got[0].data == {"id": "p"}
    assert got[0].raw == '{"index":7,"type":"printer.created","data":{"id":"p"}}'
    assert [r.headers.get("Last-Event-ID") for r in seen] == ["3", "7"]


def test_importing_the_cli_does_not_load_httpx() -> None:
    # Every node starts through cli.py: the client's HTTP library loads only when a client command runs.
    import subprocess
    import sys

    code = "import sys, cli; assert 'httpx' not in sys.modules, 'httpx loaded'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


def test_a_body_that_is_not_json_is_a_client_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>", headers={"Content-Type": "application/json"})

    with pytest.raises(ClientError, match="not JSON"):
        Client(A, transport=httpx.MockTransport(handler)).printers()
