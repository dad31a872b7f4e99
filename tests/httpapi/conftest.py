from __future__ import annotations

import falcon.testing
import pytest

from httpapi.app import create_app
from tests.httpapi.fake_bridge import FakeBridge

PRINTER = {"id": "printer1", "company": "HP", "model": "L12"}
FILAMENT = {
    "id": "f1",
    "type": "PVC",
    "color": "Black",
    "total_weight_in_grams": 100,
    "remaining_weight_in_grams": 100,
}
JOB = {
    "job_id": "job1",
    "printer_id": "printer1",
    "filament_id": "f1",
    "print_weight_in_grams": 50,
    "status": "Queued",
    "details": "mountain",
}


@pytest.fixture
def bridge() -> FakeBridge:
    return FakeBridge()


@pytest.fixture
def client(bridge: FakeBridge) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(create_app(bridge))


@pytest.fixture
def seeded(client: falcon.testing.TestClient) -> falcon.testing.TestClient:
    """printer1, f1 (100 g) and job1 (Queued, 50 g), as in the seed's README."""
    for path, body in (
        ("/api/v1/printers", PRINTER),
        ("/api/v1/filaments", FILAMENT),
        ("/api/v1/print_jobs", JOB),
    ):
        assert client.simulate_post(path, json=body).status_code == 201
    return client
