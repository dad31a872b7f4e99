"""The OctoPrint harness itself: a real OctoPrint 1.11 and its virtual printer print a file the test made."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.octoprint import make_gcode, require, running_octoprint, wait_state

pytestmark = pytest.mark.integration


def test_octoprint_prints_an_uploaded_file_once(tmp_path: Path) -> None:
    require()
    with running_octoprint(tmp_path) as server:
        server.upload("cube.gcode", make_gcode(layers=5, extrude_per_move=100.0))
        assert server.filament_length("cube.gcode") == 2000.0
        assert server.prints("cube.gcode") == {"success": 0, "failure": 0}
        assert server.print_file("cube.gcode").status == 204
        wait_state(server, {"Printing", "Finishing", "Operational"})
        wait_state(server, {"Operational"}, 60)
        assert server.prints("cube.gcode") == {"success": 1, "failure": 0}
        assert server.job()["progress"]["completion"] == 100.0
        wrong = server.get("/api/job", headers={"X-Api-Key": "not-the-key"})
        assert wrong.status == 403
    assert not server.alive()
