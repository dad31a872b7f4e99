"""The client against a real OctoPrint 1.11 and its virtual printer: every call a connection makes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from actors.octoprint import mapping
from actors.octoprint.client import NotFound, OctoPrintClient, Refused, Unauthorized, node_limiter
from tests.support.octoprint import OctoPrint, make_gcode, require, running_octoprint

pytestmark = pytest.mark.integration


async def until(
    client: OctoPrintClient, reported: str, timeout: float = 30, text: str | None = None
) -> mapping.Observation:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        seen = mapping.observe(await client.job(), await client.printer())
        if seen.reported == reported and text in (None, seen.state_text):
            return seen
        assert loop.time() < deadline, f"waited for {reported}, last saw {seen}"
        await asyncio.sleep(0.1)


async def scenario(server: OctoPrint) -> None:
    client = OctoPrintClient(server.url, server.api_key, node_limiter())
    try:
        assert (await until(client, "operational")).file is None
        with pytest.raises(NotFound):
            await client.print_file("missing.gcode")
        assert await client.file_info("missing.gcode") is None
        info = await client.file_info("cube.gcode")
        assert mapping.print_counts(info) == mapping.PrintCounts(0, 0)
        await client.print_file("cube.gcode")
        printing = await until(client, "printing")
        assert printing.file == "cube.gcode" and printing.filament_mm == 4000.0
        with pytest.raises(Refused) as refused:  # already printing
            await client.print_file("cube.gcode")
        assert refused.value.status == 409
        await client.pause()
        await until(client, "paused", text="Paused")  # a resume while still Pausing is ignored
        await client.resume()
        await until(client, "printing")
        await client.cancel()
        await until(client, "operational")
        counts = mapping.print_counts(await client.file_info("cube.gcode"))
        assert counts == mapping.PrintCounts(0, 1)
    finally:
        await client.aclose()
    wrong = OctoPrintClient(server.url, "wrong-key", node_limiter())
    try:
        with pytest.raises(Unauthorized):
            await wrong.job()
    finally:
        await wrong.aclose()


def test_client_drives_a_real_octoprint(tmp_path: Path) -> None:
    require()
    with running_octoprint(tmp_path) as server:
        # 40 layers with a dwell: long enough to pause, resume and cancel it
        server.upload("cube.gcode", make_gcode(layers=40, extrude_per_move=25.0, dwell_ms=300))
        asyncio.run(asyncio.wait_for(scenario(server), 120))
