"""Every error code a route can answer is in /openapi.json, under a status its operations document."""

from __future__ import annotations

import json

from httpapi.errors import PROBLEMS
from httpapi.openapi import document

# Falcon's own answers (no route of ours chooses them) and a server's bug: not part of the contract.
_GENERIC = {"bad_request", "method_not_allowed", "internal_error"}
# Refused by the HTTP server before any route (actors/http_limits.py): in the document's description.
_BEFORE_ROUTES = {"header_too_large"}


def _operations(doc: dict) -> list[tuple[str, str, dict]]:
    return [
        (path, method, operation)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
    ]


def test_every_error_code_is_documented() -> None:
    doc = document()
    text = json.dumps(doc)
    missing = sorted(code for code in PROBLEMS if code not in _GENERIC and code not in text)
    assert missing == []
    statuses = {status for _, _, operation in _operations(doc) for status in operation["responses"]}
    for code, (status, _title) in PROBLEMS.items():
        if code not in _GENERIC | _BEFORE_ROUTES:
            assert str(status) in statuses, code


def test_membership_refusals_stay_in_the_conflict_response() -> None:
    """The workflow's codes were added to the shared 409 response: the membership ones must stay."""
    conflict = document()["components"]["responses"]["Conflict"]["description"]
    for code in (
        "address_conflict",
        "would_lose_quorum",
        "not_queued",
        "bed_not_clear",
        "printer_unavailable",
    ):
        assert code in conflict


def test_every_write_that_may_grow_the_state_documents_the_quota() -> None:
    for path, method, operation in _operations(document()):
        if path.startswith("/api/v1/") and method in ("post", "patch") and not path.endswith("/clear-bed"):
            assert "507" in operation["responses"], (method, path)
