"""Every error leaves as application/problem+json (RFC 9457); this is the one place that maps them.

A responder raises `Problem` (or lets a bridge exception or a falcon error escape); `install(app)` turns each
into a body with type, title, status, detail and code (and field for invalid_field).
"""

from __future__ import annotations

from typing import Any

import falcon
import falcon.asgi

from farm.results import Rejected
from httpapi.bridge import BridgeError, NodeStopping, NoLeader, RequestTimeout, TooManyStreams
from httpapi.jsonio import dumps

PROBLEM_JSON = "application/problem+json"

# code -> (HTTP status, title). Rejected codes come from the farm (API.md's table); the rest are ours.
PROBLEMS: dict[str, tuple[int, str]] = {
    "malformed_json": (400, "Malformed JSON"),
    "bad_request": (400, "Bad request"),
    "invalid_field": (422, "Invalid field"),
    "not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "already_exists": (409, "Already exists"),
    "unknown_printer": (422, "Unknown printer"),
    "unknown_filament": (422, "Unknown filament"),
    "idempotency_key_reused": (422, "Idempotency key reused"),
    "insufficient_filament": (409, "Insufficient filament"),
    "invalid_transition": (409, "Invalid status transition"),
    "printer_busy": (409, "Printer busy"),
    "in_use": (409, "In use"),
    "not_queued": (409, "Job not queued"),
    "printer_unavailable": (409, "Printer unavailable"),
    "bed_not_clear": (409, "Bed not clear"),
    "too_large": (413, "Request body too large"),
    "internal_error": (500, "Internal server error"),
    "no_leader": (503, "No leader"),
    "stopping": (503, "Node stopping"),
    "not_ready": (503, "Not ready"),
    "too_many_streams": (503, "Too many event streams"),
    "too_many_full_lists": (503, "Too many full lists"),
    "unavailable": (503, "Unavailable"),
    "timeout": (504, "Timeout"),
}

# Codes a bridge may reject a cluster operation with; anything unknown is a 409 refusal by the cluster.
_UNKNOWN_REJECTION = (409, "Refused")
# The farm's codes for "this is not a command / query at all" (farm/state.py, farm/reads.py).
_OUR_BUGS = frozenset({"malformed_command", "malformed_query"})

# For falcon's own errors (unknown route, wrong method, bad header), which carry no code of ours.
_CODE_BY_STATUS = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    500: "internal_error",
    503: "unavailable",
    504: "timeout",
}


class Problem(falcon.HTTPError):
    """An HTTP error with one of our codes; `field` names the offending field for invalid_field."""

    def __init__(
        self,
        code: str,
        detail: str,
        field: str | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        status, title = PROBLEMS.get(code, _UNKNOWN_REJECTION)
        super().__init__(status, title=title, description=detail, headers=headers)
        self.code = code
        self.field = field


def invalid(field: str, detail: str) -> Problem:
    return Problem("invalid_field", detail, field)


def malformed(detail: str) -> Problem:
    return Problem("malformed_json", detail)


def too_large() -> Problem:
    return Problem("too_large", "The request body is larger than 64 KiB.")


def rejected(outcome: Rejected) -> Problem:
    """The farm (or the cluster) refused: its code decides the status (API.md's error table)."""
    if outcome.code in _OUR_BUGS:
        # The HTTP layer built the command or query: a refusal to read it is our bug, not the client's.
        return Problem("internal_error", outcome.detail or "The request could not be applied.")
    detail = outcome.detail or f"The request was refused: {outcome.code}."
    return Problem(outcome.code, detail, outcome.field)


def _bridge_problem(error: BridgeError) -> Problem:
    if isinstance(error, NoLeader):
        return Problem(
            "no_leader", "No leader is known right now; retry shortly.", headers={"Retry-After": "1"}
        )
    if isinstance(error, RequestTimeout):
        return Problem(
            "timeout",
            "The request was accepted but its outcome is not known yet; it may still "
            "apply (retry with the same Idempotency-Key).",
        )
    if isinstance(error, TooManyStreams):
        return Problem(
            "too_many_streams",
            f"This node already serves its maximum of {error.limit} event streams; retry later or use "
            "another node.",
            headers={"Retry-After": str(error.retry_after)},
        )
    if isinstance(error, NodeStopping):
        return Problem(
            "stopping",
            "This node is shutting down; send the request to another node.",
            headers={"Retry-After": "1"},
        )
    return Problem(
        "unavailable", str(error) or "The node could not serve the request.", headers={"Retry-After": "1"}
    )


async def _handle_bridge_error(
    req: falcon.asgi.Request, resp: falcon.asgi.Response, error: BridgeError, params: dict[str, Any]
) -> None:
    raise _bridge_problem(error)


def _default_detail(req: falcon.asgi.Request, error: falcon.HTTPError) -> str:
    status = error.status_code
    if status == 404:
        return f"There is no endpoint at {req.path}."
    if status == 405:
        allowed = (error.headers or {}).get("Allow", "")
        return f"{req.method} is not allowed on {req.path} (allowed: {allowed})."
    return str(error.title or "The request failed.")


def serialize_problem(req: falcon.asgi.Request, resp: falcon.asgi.Response, error: falcon.HTTPError) -> None:
    status = error.status_code
    code = getattr(error, "code", None) or _CODE_BY_STATUS.get(status, "http_error")
    known = PROBLEMS.get(code)
    title = known[1] if known else (error.title or "Error")
    body: dict[str, Any] = {
        "type": f"urn:printfarm:problem:{code}",
        "title": title,
        "status": status,
        "detail": error.description or _default_detail(req, error),
        "code": code,
    }
    field = getattr(error, "field", None)
    if field is not None:
        body["field"] = field
    resp.content_type = PROBLEM_JSON
    resp.data = dumps(body)


def install(app: falcon.asgi.App) -> None:
    app.add_error_handler(BridgeError, _handle_bridge_error)
    app.set_error_serializer(serialize_problem)
