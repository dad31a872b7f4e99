from __future__ import annotations

import falcon.testing
import pytest

from httpapi.app import create_app
from tests.httpapi.fake_bridge import FakeBridge
from tests.support.seed import FILAMENT, JOB, PRINTER


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
