"""Record OctoPrint's answers at each stage of a print into tests/octoprint/fixtures/*.json.

Run by hand against the real OctoPrint the harness installs (the unit tests read the committed files):

    .venv/bin/python -m tests.octoprint.record_fixtures

Each fixture is {"status": HTTP status, "body": the JSON answer (or null)}. Hashes, dates and ports vary from
run to run; nothing in the mapping depends on them.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from tests.support.cluster import wait_for
from tests.support.octoprint import OctoPrint, make_gcode, running_octoprint, wait_state

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FILE = "fixture.gcode"


def save(name: str, server: OctoPrint, path: str) -> Any:
    reply = server.get(path)
    try:
        body = reply.json()
    except ValueError:
        body = None
    record = {"status": reply.status, "body": body}
    (FIXTURES / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"{name}: {reply.status} {json.dumps(body)[:160]}")
    return body


def stage(server: OctoPrint, name: str) -> None:
    save(f"job_{name}", server, "/api/job")
    save(f"printer_{name}", server, "/api/printer?exclude=temperature,sd")


def main() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, running_octoprint(Path(tmp)) as server:
        stage(server, "idle")
        # 10 layers of 4 moves x 100 mm: 4000 mm of filament, a print of ~10 s on the virtual printer
        server.upload(FILE, make_gcode(layers=10, extrude_per_move=100.0))
        save("file_before_print", server, f"/api/files/local/{FILE}")
        assert server.print_file(FILE).status == 204
        wait_for(lambda: (server.job()["progress"]["completion"] or 0) > 20, 30, 0.1, "20% done")
        stage(server, "printing")
        assert server.pause().status == 204
        wait_state(server, {"Paused"})
        stage(server, "paused")
        assert server.pause("resume").status == 204
        wait_state(server, {"Printing"})
        assert server.cancel().status == 204
        wait_state(server, {"Operational"})
        stage(server, "cancelled")
        save("file_after_cancel", server, f"/api/files/local/{FILE}")
        assert server.print_file(FILE).status == 204
        wait_state(server, {"Printing"})
        wait_state(server, {"Operational"}, 60)
        stage(server, "finished")
        save("file_after_success", server, f"/api/files/local/{FILE}")
        save("file_missing", server, "/api/files/local/no-such-file.gcode")
        reply = server.post("/api/files/local/no-such-file.gcode", {"command": "select", "print": True})
        (FIXTURES / "select_missing.json").write_text(
            json.dumps({"status": reply.status, "body": reply.body.decode(errors="replace")}, indent=1) + "\n"
        )
        wrong = OctoPrint(server.basedir, port=server.port, api_key="wrong-key")
        save("job_wrong_key", wrong, "/api/job")
        # the virtual printer's debug command reports a MINTEMP error: OctoPrint treats it as fatal
        assert server.print_file(FILE).status == 204
        wait_state(server, {"Printing"})
        server.post("/api/printer/command", {"commands": ["!!DEBUG:mintemp_error"]})
        wait_for(lambda: "rror" in server.state(), 30, 0.1, "the printer error")
        stage(server, "error")
        save("file_after_error", server, f"/api/files/local/{FILE}")


if __name__ == "__main__":
    main()
