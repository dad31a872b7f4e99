"""The client's commands for printer connections (API.md, "Printer connections"): connect, disconnect, a
job's file. The API key comes from the environment or a hidden prompt, never from the command line."""

from __future__ import annotations

import json

import httpx
import pytest
from click.testing import CliRunner

import cli
from client import commands
from client.api import Client

URL = "http://127.0.0.1:1"
KEY = "0123456789ABCDEF0123456789ABCDEF"


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={"id": "p1"})

    def client(settings: commands.Settings) -> Client:
        return Client([URL], transport=httpx.MockTransport(answer))  # type: ignore[arg-type]

    monkeypatch.setattr(commands.Settings, "client", client)
    return requests


def body(request: httpx.Request) -> dict:
    return json.loads(request.content)


def test_connect_takes_the_key_from_the_environment(seen: list[httpx.Request]) -> None:
    result = CliRunner().invoke(
        cli.main,
        ["printers", "connect", "p1", "--octoprint", "http://octopi.local"],
        env={"PRINTFARM_OCTOPRINT_KEY": KEY},
    )
    assert result.exit_code == 0, result.output
    assert KEY not in result.output
    (request,) = seen
    assert (request.method, request.url.path) == ("PATCH", "/api/v1/printers/p1")
    connection = {"kind": "octoprint", "url": "http://octopi.local", "api_key": KEY}
    assert body(request) == {"connection": connection}


def test_connect_asks_for_the_key_without_echoing_it(seen: list[httpx.Request]) -> None:
    result = CliRunner().invoke(
        cli.main, ["printers", "connect", "p1", "--octoprint", "http://octopi.local"], input=KEY + "\n",
        env={"PRINTFARM_OCTOPRINT_KEY": ""},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert KEY not in result.output
    assert body(seen[0])["connection"]["api_key"] == KEY


def test_disconnect_and_a_job_s_file(seen: list[httpx.Request]) -> None:
    assert CliRunner().invoke(cli.main, ["printers", "disconnect", "p1"]).exit_code == 0
    assert body(seen[0]) == {"connection": None}
    added = CliRunner().invoke(
        cli.main,
        ["jobs", "add", "j1", "--printer", "p1", "--filament", "f1", "--weight", "10", "--file", "a.gcode"],
    )
    assert added.exit_code == 0, added.output
    assert body(seen[1])["file"] == "a.gcode"
