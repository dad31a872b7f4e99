"""The seed README's requests, byte for byte, against the HTTP layer: same paths, bodies and JSON shapes."""

from __future__ import annotations

from tests.support.seed import FILAMENT, FILAMENT_WORKFLOW, JOB, PRINTER, PRINTER_WORKFLOW


def test_the_seed_walkthrough(client, bridge) -> None:
    joined = client.simulate_post("/join?node_id=node2&addr=127.0.0.1:9002")
    assert joined.status_code == 200
    assert joined.json == {"node_id": "node2", "addr": "127.0.0.1:9002", "status": "joined"}
    assert client.simulate_post("/join?node_id=node3&addr=127.0.0.1:9003").status_code == 200

    state = client.simulate_get("/raft/state")
    assert (state.status_code, state.text) == (200, "Leader")
    assert state.headers["content-type"].startswith("text/plain")

    headers = {"Content-Type": "application/json"}
    created = client.simulate_post(
        "/api/v1/printers", body='{"id":"printer1","company":"HP","model":"L12"}', headers=headers
    )
    assert created.status_code == 201 and created.json == {**PRINTER, **PRINTER_WORKFLOW}
    assert client.simulate_get("/api/v1/printers").json == [{**PRINTER, **PRINTER_WORKFLOW}]

    created = client.simulate_post(
        "/api/v1/filaments",
        headers=headers,
        body='{"id":"f1","type":"PVC","color":"Black","total_weight_in_grams":100,"remaining_weight_in_grams":100}',
    )
    assert created.status_code == 201
    assert created.json == {
        **FILAMENT,
        "reserved_weight_in_grams": 0,
        "available_weight_in_grams": 100,
        **FILAMENT_WORKFLOW,
    }

    created = client.simulate_post(
        "/api/v1/print_jobs",
        headers=headers,
        body='{"job_id":"job1","printer_id":"printer1","filament_id":"f1","print_weight_in_grams":50,'
        '"status":"Queued","details":"mountain"}',
    )
    assert created.status_code == 201
    job = created.json
    assert {k: job[k] for k in JOB} == JOB
    assert job["created_at"].endswith("Z") and job["started_at"] is None and job["ended_at"] is None
    assert client.simulate_get("/api/v1/print_jobs").json == [job]
    assert client.simulate_get("/api/v1/filaments").json[0]["available_weight_in_grams"] == 50

    running = client.simulate_put("/api/v1/print_jobs/job1/status?status=Running")
    assert running.status_code == 200 and running.json["status"] == "Running"
    assert running.json["started_at"].endswith("Z")
    done = client.simulate_put("/api/v1/print_jobs/job1/status?status=Done")
    assert (
        done.status_code == 200 and done.json["status"] == "Done" and done.json["used_weight_in_grams"] == 50
    )
    filament = client.simulate_get("/api/v1/filaments").json[0]
    assert filament["remaining_weight_in_grams"] == 50 and filament["reserved_weight_in_grams"] == 0
