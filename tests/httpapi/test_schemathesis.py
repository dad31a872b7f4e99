"""Property-based conformance with /openapi.json: every operation, bounded examples, no 5xx, responses match.

The fake bridge starts with a printer, a filament and a job so that generated ids sometimes hit real objects.
"""

from __future__ import annotations

import asyncio
import uuid

import jsonschema_rs
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from farm.commands import CreateFilament, CreateJob, CreatePrinter
from httpapi.app import create_app
from httpapi.validation import ID_PATTERN
from tests.httpapi.fake_bridge import FakeBridge

# A schema-valid request may still be refused for what only the farm's state or a rule across fields can tell.
_SEMANTIC_422 = {
    ("unknown_printer", "printer_id"),
    ("unknown_filament", "filament_id"),
    ("invalid_field", "remaining_weight_in_grams"),
    ("invalid_field", "total_weight_in_grams"),
    # the workflow's rules across fields or over time: a reason only with Failed; progress never goes down and
    # used_grams never over the job's weight
    ("invalid_field", "reason"),
    ("invalid_field", "percent"),
    ("invalid_field", "used_grams"),
}


_ID = jsonschema_rs.validator_for({"type": "string", "pattern": ID_PATTERN})


def _sent_an_invalid_value(case, field: str | None) -> bool:
    """A "positive" value the schema does not in fact allow, or cannot tell from a valid one.

    JSON Schema calls 3.0 an integer, but API.md (as Go's decoder before it) refuses a float weight; and
    schemathesis approximates \\p{M} and friends with ranges holding unassigned code points, which the pattern
    (as jsonschema-rs reads it, and str.isprintable) refuses.
    """
    sources = [case.body if isinstance(case.body, dict) else {}, case.query or {}]
    values = [source[field] for source in sources if field in source]
    return any(
        isinstance(value, float)
        or (isinstance(value, str) and field.endswith("id") and not _ID.is_valid(value))
        for value in values
    )


def _seeded_bridge() -> FakeBridge:
    bridge = FakeBridge()
    for command in (
        CreatePrinter("printer1", "HP", "L12"),
        CreateFilament("f1", "PVC", "Black", 1000, 1000),
        CreateJob("job1", "printer1", "f1", 50, "mountain"),
    ):
        asyncio.run(bridge.write(command))
    return bridge


schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(_seeded_bridge()))


@schema.parametrize()
@settings(
    max_examples=30, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
def test_the_api_conforms_to_its_openapi_document(case) -> None:
    if case.headers and "Idempotency-Key" in case.headers:
        # Generated keys repeat across operations, and a key reused for another command answers the first
        # command's outcome by design (farm/idempotency): not the shape this operation documents.
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
    assert response.status_code < 500
    if case.meta is not None and case.meta.generation.mode.is_positive and response.status_code >= 400:
        # positive_data_acceptance, knowing which refusals of well-formed requests API.md prescribes
        problem = response.json()
        assert response.status_code in (404, 409, 422), problem
        if response.status_code == 422:
            refusal = (problem["code"], problem.get("field"))
            assert refusal in _SEMANTIC_422 or _sent_an_invalid_value(case, problem.get("field")), problem
