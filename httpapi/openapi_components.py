"""The reusable parts of the OpenAPI document: schemas, parameters and error responses (components/*).

httpapi/openapi.py assembles the paths around them.
"""

from __future__ import annotations

from typing import Any

from farm.lifecycle import STATUSES
from farm.validation import MAX_WEIGHT
from httpapi.validation import (
    CONSISTENCIES,
    ID_PATTERN,
    MAX_BODY_BYTES,
    MAX_ID_CHARS,
    MAX_LIMIT,
    MAX_PAGE_NUMBER,
)


def ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def schema(name: str) -> dict[str, str]:
    return ref("schemas", name)


def json_response(
    item: dict[str, Any], description: str, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": item}}}
    if headers:
        response["headers"] = headers
    return response


def path_id(name: str, what: str) -> dict[str, Any]:
    """The path parameter `name`: the id of a `what`."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"The {what}'s id.",
        "schema": schema("Id"),
    }


def problem_response(description: str, retry_after: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/problem+json": {"schema": schema("Problem")}},
    }
    if retry_after:
        response["headers"] = {
            "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "string"}}
        }
    return response


def _string(description: str = "") -> dict[str, Any]:
    return {"type": "string", "description": description} if description else {"type": "string"}


def object_schema(properties: dict[str, Any], required: list[str], description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    if description:
        schema["description"] = description
    return schema


WEIGHT = schema("Weight")
_TIMESTAMP = {
    "type": ["string", "null"],
    "format": "date-time",
    "description": "Leader time, ISO 8601 UTC with a Z; null until it happens.",
}

SCHEMAS: dict[str, Any] = {
    "Id": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_ID_CHARS,
        "pattern": ID_PATTERN,
        "description": f"1 to {MAX_ID_CHARS} printable characters: each in a Unicode category L, M, N, P or "
        "S, or the space U+0020 (Python's str.isprintable()); no '/', as an id is one path segment.",
    },
    "Weight": {
        "type": "integer",
        "minimum": 0,
        "maximum": MAX_WEIGHT,
        "description": "Grams, an integer (not a float, boolean or string).",
    },
    "Status": {
        "type": "string",
        "enum": list(STATUSES),
        "description": "Exact case. Queued -> Running|Cancelled; Running -> Done|Cancelled|Paused|Failed; "
        "Paused -> Running|Cancelled|Failed; Done, Cancelled, Failed are terminal.",
    },
    "Printer": object_schema(
        {"id": schema("Id"), "company": _string(), "model": _string()}, ["id", "company", "model"]
    ),
    "PrinterCreate": object_schema(
        {"id": schema("Id"), "company": _string(), "model": _string()}, ["id", "company", "model"]
    ),
    "PrinterPatch": object_schema({"company": _string(), "model": _string()}, []),
    "Filament": object_schema(
        {
            "id": schema("Id"),
            "type": _string(),
            "color": _string(),
            "total_weight_in_grams": WEIGHT,
            "remaining_weight_in_grams": WEIGHT,
            "reserved_weight_in_grams": {
                **WEIGHT,
                "description": "Summed weight of its Queued, Running, Paused jobs.",
            },
            "available_weight_in_grams": {**WEIGHT, "description": "remaining - reserved."},
        },
        [
            "id",
            "type",
            "color",
            "total_weight_in_grams",
            "remaining_weight_in_grams",
            "reserved_weight_in_grams",
            "available_weight_in_grams",
        ],
    ),
    "FilamentCreate": object_schema(
        {
            "id": schema("Id"),
            "type": _string(),
            "color": _string(),
            "total_weight_in_grams": WEIGHT,
            "remaining_weight_in_grams": {
                **WEIGHT,
                "description": "At most total_weight_in_grams (else 422).",
            },
        },
        ["id", "type", "color", "total_weight_in_grams", "remaining_weight_in_grams"],
    ),
    "FilamentPatch": object_schema(
        {
            "type": _string(),
            "color": _string(),
            "total_weight_in_grams": WEIGHT,
            "remaining_weight_in_grams": WEIGHT,
        },
        [],
        "The result must keep remaining <= total (else 422 invalid_field) and reserved <= remaining "
        "(else 409 insufficient_filament).",
    ),
    "Job": object_schema(
        {
            "job_id": schema("Id"),
            "printer_id": schema("Id"),
            "filament_id": schema("Id"),
            "print_weight_in_grams": WEIGHT,
            "status": schema("Status"),
            "details": _string(),
            "created_at": _TIMESTAMP,
            "started_at": _TIMESTAMP,
            "ended_at": _TIMESTAMP,
            "used_weight_in_grams": {
                "anyOf": [WEIGHT, {"type": "null"}],
                "description": "The weight once Done; the reported used_grams (else 0) once Cancelled or "
                "Failed; null before.",
            },
        },
        [
            "job_id",
            "printer_id",
            "filament_id",
            "print_weight_in_grams",
            "status",
            "details",
            "created_at",
            "started_at",
            "ended_at",
            "used_weight_in_grams",
        ],
    ),
    "JobCreate": object_schema(
        {
            "job_id": schema("Id"),
            "printer_id": schema("Id"),
            "filament_id": schema("Id"),
            "print_weight_in_grams": {
                **WEIGHT,
                "description": "Reserved on the filament while the job is active.",
            },
            "status": {
                "type": "string",
                "enum": ["Queued"],
                "description": "Optional; only Queued is accepted.",
            },
            "details": _string("Optional free text (default empty)."),
        },
        ["job_id", "printer_id", "filament_id", "print_weight_in_grams"],
    ),
    "Problem": object_schema(
        {
            "type": {"type": "string", "description": "urn:printfarm:problem:<code>"},
            "title": _string(),
            "status": {"type": "integer", "description": "Equals the HTTP status."},
            "detail": {"type": "string", "minLength": 1},
            "code": _string("A stable machine-readable code."),
            "field": _string("The offending field (invalid_field only)."),
        },
        ["type", "title", "status", "detail", "code"],
        "RFC 9457 problem details.",
    ),
    "Member": object_schema(
        {
            "node_id": schema("Id"),
            "addr": _string("HOST:PORT of its raft address."),
            "role": {"type": "string", "enum": ["voter", "learner"]},
        },
        ["node_id", "addr", "role"],
    ),
    "RaftStatus": object_schema(
        {
            "node_id": _string(),
            "state": {"type": "string", "enum": ["Leader", "Follower", "Candidate"]},
            "term": {"type": "integer", "minimum": 0},
            "leader_id": {"type": ["string", "null"]},
            "commit_index": {"type": "integer", "minimum": 0},
            "applied_index": {"type": "integer", "minimum": 0},
            "members": {"type": "array", "items": schema("Member")},
            "pending_change": {
                "oneOf": [{"type": "null"}, schema("PendingChange")],
                "description": "A membership change in the log, not yet committed (null if none).",
            },
        },
        ["node_id", "state", "term", "leader_id", "commit_index", "applied_index", "members"],
    ),
    "PendingChange": object_schema(
        {
            "index": {"type": "integer", "minimum": 1},
            "kind": {"type": "string", "enum": ["add_learner", "promote", "remove"]},
            "node_id": schema("Id"),
            "addr": _string("The address an add_learner gives it (empty for the other kinds)."),
        },
        ["index", "kind", "node_id", "addr"],
    ),
    "Joined": object_schema(
        {"node_id": schema("Id"), "addr": _string(), "status": {"const": "joined"}},
        ["node_id", "addr", "status"],
    ),
    "Transferred": object_schema({"to": schema("Id"), "status": {"const": "transferred"}}, ["to", "status"]),
    "Event": object_schema(
        {
            "index": {"type": "integer", "minimum": 1},
            "type": _string(
                "printer.created|updated|deleted, filament.created|updated|deleted, "
                "job.created, job.status_changed"
            ),
            "data": {"type": "object", "description": "The object after the change ({id} for deletes)."},
        },
        ["index", "type", "data"],
        "The data line of each Server-Sent Event.",
    ),
}

# Before OpenAPI 3.2 (itemSchema) the schema of text/event-stream describes each event, not the whole body.
SSE_EVENT = object_schema(
    {
        "id": {"type": "string", "pattern": "^[0-9]+$", "description": "The log index."},
        "event": {"type": "string", "description": "The event type, as in data.type."},
        "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": schema("Event")},
    },
    ["id", "event", "data"],
    "One event; keep-alive comments (': keep-alive') are sent while the stream is quiet.",
)

PARAMETERS: dict[str, Any] = {
    "limit": {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "At most this many items (a page). Without limit the list is every item, streamed; "
        "more such lists at once than a node serves (4) is 503 too_many_full_lists with Retry-After.",
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_LIMIT},
    },
    "offset": {
        "name": "offset",
        "in": "query",
        "required": False,
        "description": "Skip this many items.",
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_PAGE_NUMBER},
    },
    "consistency": {
        "name": "consistency",
        "in": "query",
        "required": False,
        "description": "linearizable (default: ReadIndex through the leader) or stale (this node's copy,"
        " answers even without a leader).",
        "schema": {"type": "string", "enum": list(CONSISTENCIES)},
    },
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "A retry with the same key returns the first result and applies nothing twice; the "
        "key used for another request is refused (422 idempotency_key_reused). Keys starting with ~ are "
        "reserved for the cluster's own retries.",
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_ID_CHARS,
            "pattern": "^[\\x20-\\x7d][\\x20-\\x7e]*$",
        },
    },
}

RESPONSES: dict[str, Any] = {
    "MalformedJson": problem_response("malformed_json: the body is not JSON, or not an object."),
    "NotFound": problem_response("not_found: the id in the path does not exist."),
    "Conflict": problem_response(
        "already_exists, insufficient_filament, invalid_transition, printer_busy or in_use; for membership "
        "changes address_conflict or would_lose_quorum."
    ),
    "TooLarge": problem_response(f"too_large: the body is over {MAX_BODY_BYTES} bytes."),
    "Unprocessable": problem_response(
        "invalid_field (field names it), unknown_printer, unknown_filament, or idempotency_key_reused (the "
        "Idempotency-Key was first used for another request)."
    ),
    "Unavailable": problem_response(
        "no_leader (no leader known within the request timeout), stopping, or change_pending (a membership "
        "change not committed within the timeout).",
        retry_after=True,
    ),
    "Timeout": problem_response("timeout: the outcome is not known yet; it may still apply."),
}
