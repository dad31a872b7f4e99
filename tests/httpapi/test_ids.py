"""The HTTP layer's id rule is the farm's (farm/validation.py), and the OpenAPI pattern states it."""

from __future__ import annotations

import jsonschema_rs
import pytest

from farm.validation import check_id as farm_check_id
from httpapi.validation import ID_PATTERN, MAX_ID_CHARS, is_valid_id
from tests.httpapi.fake_bridge import problem_of
from tests.support.seed import FILAMENT, JOB, PRINTER

SAMPLES = [
    "p1",
    "printer 1 — ü",
    "a b",
    "a\\b",
    "a%2Fb",
    "a/b",
    "/",
    "b/",
    "tab\tx",
    "new\nline",
    "",
    "p" * 129,
]


@pytest.mark.parametrize("value", SAMPLES)
def test_the_http_rule_and_the_pattern_agree_with_the_farm(value: str) -> None:
    farm_says = farm_check_id(value, "id") is None
    assert is_valid_id(value) is farm_says
    if 0 < len(value) <= MAX_ID_CHARS:
        assert (
            jsonschema_rs.validator_for({"type": "string", "pattern": ID_PATTERN}).is_valid(value)
            is farm_says
        )


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/printers", {**PRINTER, "id": "hp/l12"}, "id"),
        ("/api/v1/filaments", {**FILAMENT, "id": "pla/red"}, "id"),
        ("/api/v1/print_jobs", {**JOB, "job_id": "2024/01/job"}, "job_id"),
        ("/api/v1/print_jobs", {**JOB, "printer_id": "printer/1"}, "printer_id"),
        ("/api/v1/print_jobs", {**JOB, "filament_id": "f/1"}, "filament_id"),
    ],
)
def test_an_id_with_a_slash_is_422_naming_the_field_and_saying_why(seeded, bridge, path, body, field) -> None:
    writes = len(bridge.writes)
    result = seeded.simulate_post(path, json=body)
    problem = problem_of(result)
    assert (result.status_code, problem["code"], problem["field"]) == (422, "invalid_field", field)
    assert "'/'" in problem["detail"], problem
    assert len(bridge.writes) == writes


def test_a_slash_in_an_id_filter_is_422(seeded) -> None:
    result = seeded.simulate_get("/api/v1/print_jobs", params={"printer_id": "printer/1"})
    assert (result.status_code, problem_of(result)["field"]) == (422, "printer_id")
