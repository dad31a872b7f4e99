"""The command-line client (`printfarm ...` / `python cli.py ...`) against a real 3-node cluster.

Every command, `--json` equal to the API's own answer, every exit code, a dead first URL, PRINTFARM_URL, and
the installed `printfarm` script. Nothing may print a traceback.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cluster import REPO, Cluster, Node, free_ports, wait_for
from tests.support.fixtures import module_cluster

pytestmark = pytest.mark.integration
SCRIPT = Path(sys.executable).parent / "printfarm"


def run(
    *args: str, env: dict[str, str] | None = None, script: bool = False
) -> subprocess.CompletedProcess[str]:
    argv = [str(SCRIPT)] if script else [sys.executable, str(REPO / "cli.py")]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PRINTFARM_")}
    result = subprocess.run(
        argv + list(args), capture_output=True, text=True, env={**clean, **(env or {})}, timeout=60, cwd=REPO
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def ok(*args: str, **kwargs: object) -> str:
    result = run(*args, **kwargs)  # type: ignore[arg-type]
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def as_json(*args: str, **kwargs: object) -> object:
    return json.loads(ok("--json", *args, **kwargs))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from module_cluster(tmp_path_factory, "cli")


def url_of(node: Node) -> str:
    return f"--url={node.url}"


def test_printers_filaments_and_jobs_commands_with_json_equal_to_the_api(cluster: Cluster) -> None:
    one, two, three = cluster.nodes
    at = url_of(two)
    assert as_json(at, "printers", "add", "p1", "--company", "Prusa", "--model", "MK4") == {
        "id": "p1", "company": "Prusa", "model": "MK4", **_extra(three.get("/api/v1/printers/p1").json()),
    }  # fmt: skip
    assert as_json(at, "printers", "list") == three.get("/api/v1/printers").json()
    assert as_json(at, "printers", "show", "p1") == three.get("/api/v1/printers/p1").json()
    ok(at, "printers", "add", "p2", "--company", "Bambu", "--model", "X1C")

    spool = as_json(at, "filaments", "add", "f1", "--type", "PLA", "--color", "Black", "--total", "1000")
    assert spool["remaining_weight_in_grams"] == 1000 and spool["available_weight_in_grams"] == 1000
    ok(
        at,
        "filaments",
        "add",
        "f2",
        "--type",
        "PETG",
        "--color",
        "Red",
        "--total",
        "500",
        "--remaining",
        "120",
    )
    assert as_json(at, "filaments", "list") == one.get("/api/v1/filaments").json()
    assert as_json(at, "filaments", "show", "f2") == one.get("/api/v1/filaments/f2").json()

    job = as_json(at, "jobs", "add", "j1", "--printer", "p1", "--filament", "f1", "--weight", "100",
                  "--details", "benchy")  # fmt: skip
    assert (job["status"], job["details"]) == ("Queued", "benchy")
    ok(at, "jobs", "add", "j2", "--printer", "p2", "--filament", "f2", "--weight", "50")
    ok(at, "jobs", "add", "j3", "--printer", "p2", "--filament", "f1", "--weight", "10")
    steps = [("start", "Running"), ("pause", "Paused"), ("resume", "Running"), ("done", "Done")]
    for command, status in steps:
        answer = as_json(at, "jobs", command, "j1")
        assert answer == one.get("/api/v1/print_jobs/j1").json() and answer["status"] == status
    ok(at, "jobs", "start", "j2")
    failed = as_json(at, "jobs", "fail", "j2", "--used", "7")
    assert (failed["status"], failed["used_weight_in_grams"]) == ("Failed", 7)
    cancelled = as_json(at, "jobs", "cancel", "j3", "--used", "0")
    assert cancelled["status"] == "Cancelled"
    assert as_json(at, "jobs", "list") == one.get("/api/v1/print_jobs").json()
    assert [j["job_id"] for j in as_json(at, "jobs", "list", "--status", "Done")] == ["j1"]
    assert [j["job_id"] for j in as_json(at, "jobs", "list", "--printer", "p2")] == ["j2", "j3"]
    assert [j["job_id"] for j in as_json(at, "jobs", "list", "--filament", "f2")] == ["j2"]
    assert as_json(at, "jobs", "show", "j2") == one.get("/api/v1/print_jobs/j2").json()
    assert as_json(at, "--consistency", "stale", "jobs", "show", "j1")["status"] == "Done"

    # For people: aligned tables, one row per object, the header's columns at the rows' offsets.
    table = ok(at, "jobs", "list").splitlines()
    assert table[0].split()[:5] == ["JOB", "PRINTER", "FILAMENT", "WEIGHT", "g"]
    assert [line.split()[0] for line in table[1:]] == ["j1", "j2", "j3"]
    status_at = table[0].index("STATUS")
    assert [line[status_at:].split()[0] for line in table[1:]] == ["Done", "Failed", "Cancelled"]
    assert "benchy" in table[1]
    spools = ok(at, "filaments", "list").splitlines()
    assert spools[0].startswith("ID") and "AVAILABLE g" in spools[0] and spools[2].startswith("f2")
    assert re.search(r"^company +Prusa$", ok(at, "printers", "show", "p1"), re.MULTILINE)

    ok(at, "jobs", "add", "j4", "--printer", "p1", "--filament", "f2", "--weight", "5")
    in_use = run(at, "--json", "printers", "rm", "p1")  # j4 is Queued on it
    assert (in_use.returncode, in_use.stdout) == (1, "") and in_use.stderr.startswith("error: 409 in_use: ")
    ok(at, "jobs", "cancel", "j4")
    assert as_json(at, "jobs", "show", "j4")["used_weight_in_grams"] == 0
    ok(at, "filaments", "add", "spare", "--type", "PLA", "--color", "White", "--total", "10")
    ok(at, "printers", "add", "spare", "--company", "c", "--model", "m")
    assert run(at, "--json", "filaments", "rm", "spare").stdout == ""  # 204: nothing to print
    assert ok(at, "printers", "rm", "spare").strip() == "removed printer spare"
    assert (
        one.get("/api/v1/filaments/spare").status == 404 and one.get("/api/v1/printers/spare").status == 404
    )


def _extra(printer: dict[str, object]) -> dict[str, object]:
    """Fields beyond the seed's three (the workflow's status, queue, ...), as the API has them."""
    return {k: v for k, v in printer.items() if k not in ("id", "company", "model")}


def test_exit_codes_and_error_lines(cluster: Cluster) -> None:
    at = url_of(cluster.nodes[2])
    ok(at, "printers", "add", "e1", "--company", "c", "--model", "m")
    ok(at, "filaments", "add", "ef", "--type", "PLA", "--color", "c", "--total", "10")
    ok(at, "jobs", "add", "ej", "--printer", "e1", "--filament", "ef", "--weight", "1")
    ok(at, "jobs", "start", "ej")
    ok(at, "jobs", "done", "ej")

    refused = run(at, "jobs", "start", "ej")
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.startswith("error: 409 invalid_transition: ") and refused.stderr.count("\n") == 1
    api = cluster.nodes[0].request("PUT", "/api/v1/print_jobs/ej/status?status=Running").json()
    assert refused.stderr == f"error: 409 invalid_transition: {api['detail']}\n"
    assert run(at, "printers", "show", "ghost").stderr.startswith("error: 404 not_found: ")
    again = run(at, "printers", "add", "e1", "--company", "c", "--model", "m")
    assert (again.returncode, again.stderr.split(":")[:2]) == (1, ["error", " 409 already_exists"])
    unknown = run(at, "jobs", "add", "x", "--printer", "nope", "--filament", "ef", "--weight", "1")
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: 422 unknown_printer: ")

    usages = [["jobs", "frob"], ["printers", "add", "p"], ["--consistency", "sloppy", "printers", "list"]]
    usages += [["--url", "ftp://x", "printers", "list"], ["jobs", "add", "x", "--weight", "-1"]]
    for usage in usages:
        result = run(at, *usage)
        assert result.returncode == 2, (usage, result.stderr)

    dead = free_ports(2)
    nobody = run(f"--url=http://127.0.0.1:{dead[0]},http://127.0.0.1:{dead[1]}", "printers", "list")
    assert nobody.returncode == 3 and nobody.stderr.startswith("error: no node reachable (tried http://")


def test_a_dead_first_url_and_printfarm_url_and_the_installed_script(cluster: Cluster) -> None:
    (dead,) = free_ports(1)
    urls = f"http://127.0.0.1:{dead},{cluster.nodes[1].url}"
    ok("printers", "add", "d1", "--company", "c", "--model", "m", env={"PRINTFARM_URL": urls})
    assert cluster.nodes[0].get("/api/v1/printers/d1").status == 200
    listed = as_json("printers", "list", env={"PRINTFARM_URL": urls}, script=True)
    assert "d1" in [p["id"] for p in listed]  # type: ignore[union-attr]
    assert as_json(f"--url={urls}", "printers", "show", "d1", script=True)["id"] == "d1"  # type: ignore[index]
    # --url wins over the environment
    lone = run(f"--url=http://127.0.0.1:{dead}", "printers", "list", env={"PRINTFARM_URL": urls}, script=True)
    assert lone.returncode == 3
    assert "Usage: printfarm" in ok("--help", script=True)


def test_events_follow_the_stream_as_json_and_stop_on_ctrl_c(cluster: Cluster) -> None:
    node = cluster.nodes[0]
    start = node.status()["applied_index"]  # type: ignore[index]
    cluster.nodes[1].post("/api/v1/printers", {"id": "ev1", "company": "c", "model": "m"})
    lines = ok(url_of(node), "--json", "events", "--after", str(start), "--count", "1").splitlines()
    envelope = json.loads(lines[0])
    assert (
        envelope["type"] == "printer.created" and envelope["data"] == node.get("/api/v1/printers/ev1").json()
    )
    human = ok(url_of(node), "events", "--after", str(start), "--count", "1")
    assert "printer.created" in human and '"id":"ev1"' in human

    # Without --after the stream starts at "now": create printers until the follower has printed one.
    argv = [sys.executable, str(REPO / "cli.py"), url_of(cluster.nodes[2]), "events"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    follower = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    assert follower.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(follower.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        created = iter(range(1000))

        def printed() -> bool:
            cluster.nodes[1].post(
                "/api/v1/printers", {"id": f"ev2-{next(created)}", "company": "c", "model": "m"}
            )
            return any("printer.created" in line and "ev2-" in line for line in lines)

        wait_for(printed, 20, interval=0.3, what="the follower to print an event")
        follower.send_signal(signal.SIGINT)
        assert follower.wait(timeout=10) == 0
        assert "Traceback" not in (follower.stderr.read() if follower.stderr else "")
    finally:
        if follower.poll() is None:
            follower.kill()


def test_printers_connect_sets_and_removes_an_octoprint_connection_and_jobs_carry_a_file(
    cluster: Cluster,
) -> None:
    at = url_of(cluster.nodes[1])
    ok(at, "printers", "add", "c1", "--company", "Prusa", "--model", "MK4")
    key = "A1B2C3D4E5F6A1B2C3D4E5F6A1B2C3D4"
    shown = as_json(at, "printers", "connect", "c1", "--octoprint", "http://127.0.0.1:5000", "--api-key", key)
    assert shown["connection"] == {"kind": "octoprint", "url": "http://127.0.0.1:5000", "api_key": "***"}
    read = json.loads(ok(at, "--json", "printers", "show", "c1"))
    assert read["connection"] == shown["connection"] and key not in json.dumps(read)
    assert as_json(at, "printers", "disconnect", "c1")["connection"] is None
    assert run(at, "printers", "connect", "c1").returncode == 2  # no --octoprint
    ok(at, "filaments", "add", "cf", "--type", "PLA", "--color", "c", "--total", "100")
    job = as_json(
        at, "jobs", "add", "cj", "--printer", "c1", "--filament", "cf", "--weight", "5", "--file", "a.gcode"
    )
    assert job["file"] == "a.gcode"


def test_cluster_status_join_transfer_remove_and_5xx_after_retries(cluster: Cluster) -> None:
    one, two, three = cluster.nodes
    status = as_json(url_of(two), "cluster", "status")
    api = two.status()
    assert status["node_id"] == "node2" and status["members"] == api["members"]  # type: ignore[index]
    assert set(status) == set(api)  # type: ignore[arg-type]
    text = ok(url_of(two), "cluster", "status")
    assert "leader" in text and "NODE" in text and "node3" in text

    assert ok(url_of(one), "cluster", "join", "node3", three.raft_addr).strip().startswith("node3 joined")
    leader = cluster.leader()
    target = next(node for node in cluster.nodes if node is not leader)
    assert "transferred" in ok(url_of(two), "cluster", "transfer", target.node_id)
    wait_for(lambda: target.state() == "Leader", 15, what=f"{target.node_id} to lead")

    goner = next(node for node in cluster.nodes if node is not target)
    assert ok(url_of(target), "cluster", "remove", goner.node_id).strip() == f"removed {goner.node_id}"
    members = {m["node_id"] for m in as_json(url_of(target), "cluster", "status")["members"]}  # type: ignore[index]
    assert goner.node_id not in members and len(members) == 2
    refused = run(url_of(target), "cluster", "transfer", "nobody")
    assert refused.returncode == 1 and refused.stderr.startswith("error: ")

    # Two members left: kill one and the other has no quorum, so no leader -> 503 after the retries.
    survivor = next(node for node in cluster.nodes if node.node_id in members and node is not target)
    target.kill()
    unavailable = run(url_of(survivor), "printers", "add", "late", "--company", "c", "--model", "m")
    assert unavailable.returncode == 3, unavailable.stderr
    assert unavailable.stderr.startswith("error: 503 no_leader: ")

