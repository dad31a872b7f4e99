"""How fast the farm follows a real OctoPrint: from OctoPrint finishing a print to the job showing Done, and
from kill -9 of the leader mid-print to the connection moving the job's progress again.

    python bench/octoprint_latency.py [--prints 5] [--kills 2]

Starts a 3-node cluster and an OctoPrint 1.11 with its virtual printer (the test harness's, installed under
build/ on first use), prints short files one after another (clear-bed between them), then kills the leader
during longer prints. Prints each sample and the median; numbers, never assertions (the machine is shared).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.cluster import Cluster, Node, wait_for  # noqa: E402
from tests.support.octoprint import OctoPrint, make_gcode, running_octoprint  # noqa: E402


def job(node: Node, job_id: str) -> dict:
    reply = node.get(f"/api/v1/print_jobs/{job_id}", timeout=6)
    assert reply.status == 200, reply.body
    return reply.json()


def queue(node: Node, job_id: str, file: str) -> None:
    body = {
        "job_id": job_id,
        "printer_id": "p1",
        "filament_id": "f1",
        "print_weight_in_grams": 20,
        "file": file,
    }
    assert node.post("/api/v1/print_jobs", body).status == 201


def one_print(leader: Node, server: OctoPrint, job_id: str, success: int) -> float:
    queue(leader, job_id, "short.gcode")
    wait_for(lambda: server.prints("short.gcode")["success"] == success, 120, 0.02, "OctoPrint to finish")
    finished = time.monotonic()
    wait_for(lambda: job(leader, job_id)["status"] == "Done", 30, 0.02, "Done")
    took = time.monotonic() - finished
    assert leader.post("/api/v1/printers/p1/clear-bed").status == 204
    return took


def finish_to_done(cluster: Cluster, server: OctoPrint, prints: int) -> list[float]:
    server.upload("short.gcode", make_gcode(layers=10, extrude_per_move=100.0))
    samples = []
    for number in range(prints):
        samples.append(one_print(cluster.leader(), server, f"short{number}", number + 1))
        print(f"finish -> Done: {samples[-1]:.3f} s", flush=True)
    return samples


def one_kill(cluster: Cluster, job_id: str) -> float:
    leader = cluster.leader()
    queue(leader, job_id, "long.gcode")
    wait_for(lambda: (job(leader, job_id)["progress_percent"] or 0) >= 10, 120, 0.05, "progress")
    leader.kill()
    killed = time.monotonic()
    new = cluster.leader(timeout=30, exclude=[leader.node_id])
    before = job(new, job_id)["progress_percent"]
    wait_for(lambda: (job(new, job_id)["progress_percent"] or 0) > before, 60, 0.02, "progress again")
    took = time.monotonic() - killed
    wait_for(lambda: job(new, job_id)["status"] == "Done", 120, 0.1, "Done")
    assert new.post("/api/v1/printers/p1/clear-bed").status == 204
    leader.start()
    cluster.wait_converged(30)
    return took


def kill_to_resume(cluster: Cluster, server: OctoPrint, kills: int) -> list[float]:
    server.upload("long.gcode", make_gcode(layers=40, extrude_per_move=10.0, dwell_ms=300))
    samples = []
    for number in range(kills):
        samples.append(one_kill(cluster, f"long{number}"))
        print(f"leader kill -> progress again: {samples[-1]:.3f} s", flush=True)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prints", type=int, default=5)
    parser.add_argument("--kills", type=int, default=2)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="printfarm-bench-") as tmp,
        running_octoprint(Path(tmp)) as server,
    ):
        cluster = Cluster(Path(tmp) / "cluster", 3)
        try:
            leader = cluster.bootstrap()
            leader.post(
                "/api/v1/filaments",
                {
                    "id": "f1",
                    "type": "PLA",
                    "color": "Red",
                    "total_weight_in_grams": 100000,
                    "remaining_weight_in_grams": 100000,
                },
            )
            connection = {"kind": "octoprint", "url": server.url, "api_key": server.api_key}
            leader.post(
                "/api/v1/printers", {"id": "p1", "company": "Prusa", "model": "MK4", "connection": connection}
            )
            done = finish_to_done(cluster, server, args.prints)
            resumed = kill_to_resume(cluster, server, args.kills)
        finally:
            cluster.close()
    print(
        f"OctoPrint finished -> job Done: median {statistics.median(done):.3f} s over {len(done)} "
        f"(max {max(done):.3f} s; the connection polls every 1 s)"
    )
    print(
        f"leader kill -9 -> connection resumed: median {statistics.median(resumed):.3f} s "
        f"over {len(resumed)} (max {max(resumed):.3f} s)"
    )


if __name__ == "__main__":
    main()
