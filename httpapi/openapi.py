"""The hand-written OpenAPI 3.1 document served at /openapi.json: API.md, machine-readable.

Kept beside the code it describes; tests/httpapi check it against the app (every route documented, every
response conforming) with schemathesis.
"""

from __future__ import annotations

from typing import Any

from farm.lifecycle import STATUSES
from farm.validation import MAX_WEIGHT
from httpapi.validation import (
    ADDR_PATTERN,
    CONSISTENCIES,
    ID_PATTERN,
    MAX_BODY_BYTES,
    MAX_ID_CHARS,
    MAX_INDEX,
    MAX_PAGE_NUMBER,
)

_IGNORED = (
    " Unknown fields are ignored; a field that is present must have the documented type (null is refused)."
)


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _schema(name: str) -> dict[str, str]:
    return _ref("schemas", name)


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        response["headers"] = headers
    return response


def _errors(*names: str) -> dict[str, Any]:
    statuses = {
        "MalformedJson": "400",
        "NotFound": "404",
        "Conflict": "409",
        "TooLarge": "413",
        "Unprocessable": "422",
        "Unavailable": "503",
        "Timeout": "504",
    }
    return {statuses[name]: _ref("responses", name) for name in names}


_READ_ERRORS = ("Unprocessable", "Unavailable", "Timeout")
_WRITE_ERRORS = ("MalformedJson", "TooLarge", "Unprocessable", "Conflict", "Unavailable", "Timeout")


def _body(name: str, description: str) -> dict[str, Any]:
    return {
        "required": True,
        "description": description + _IGNORED,
        "content": {"application/json": {"schema": _schema(name)}},
    }


def _path_id(name: str, what: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"The {what}'s id.",
        "schema": _schema("Id"),
    }


def _query_id(name: str, description: str, required: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": _schema("Id"),
    }


_PAGING = [_ref("parameters", "limit"), _ref("parameters", "offset")]
_CONSISTENCY = _ref("parameters", "consistency")
_IDEMPOTENCY = _ref("parameters", "IdempotencyKey")
_TOTAL = {
    "X-Total-Count": {
        "description": "How many items match the filters (before limit and offset).",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
}
_LOCATION = {
    "Location": {
        "description": "The path of the created object.",
        "required": True,
        "schema": {"type": "string"},
    }
}


def _collection(
    tag: str,
    item: str,
    create: str,
    create_text: str,
    extra_query: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "get": {
            "tags": [tag],
            "operationId": f"list{item}s",
            "summary": f"List {tag}, ordered by id.",
            "description": "Without limit every item is returned, as the seed did.",
            "parameters": [*(extra_query or []), *_PAGING, _CONSISTENCY],
            "responses": {
                "200": _json({"type": "array", "items": _schema(item)}, f"The {tag}.", _TOTAL),
                **_errors(*_READ_ERRORS),
            },
        },
        "post": {
            "tags": [tag],
            "operationId": f"create{item}",
            "summary": f"Create a {item.lower()}.",
            "parameters": [_IDEMPOTENCY],
            "requestBody": _body(create, create_text),
            "responses": {"201": _json(_schema(item), "Created.", {**_LOCATION}), **_errors(*_WRITE_ERRORS)},
        },
    }


def _single(tag: str, item: str, param: str, patch: str | None, what: str) -> dict[str, Any]:
    operations: dict[str, Any] = {
        "parameters": [_path_id(param, what)],
        "get": {
            "tags": [tag],
            "operationId": f"get{item}",
            "summary": f"One {what}.",
            "parameters": [_CONSISTENCY],
            "responses": {"200": _json(_schema(item), f"The {what}."), **_errors("NotFound", *_READ_ERRORS)},
        },
    }
    if patch is not None:
        operations["patch"] = {
            "tags": [tag],
            "operationId": f"update{item}",
            "summary": f"Change some fields of a {what}.",
            "parameters": [_IDEMPOTENCY],
            "requestBody": _body(patch, "The fields to change; absent fields keep their value."),
            "responses": {
                "200": _json(_schema(item), f"The updated {what}."),
                **_errors("NotFound", *_WRITE_ERRORS),
            },
        }
        operations["delete"] = {
            "tags": [tag],
            "operationId": f"delete{item}",
            "summary": f"Delete a {what}; refused (in_use) while an active job references it.",
            "parameters": [_IDEMPOTENCY],
            "responses": {
                "204": {"description": "Deleted."},
                **_errors("NotFound", "Unprocessable", "Conflict", "Unavailable", "Timeout"),
            },
        }
    return operations


def _problem_response(description: str, retry_after: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/problem+json": {"schema": _schema("Problem")}},
    }
    if retry_after:
        response["headers"] = {
            "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "string"}}
        }
    return response


def _string(description: str = "") -> dict[str, Any]:
    return {"type": "string", "description": description} if description else {"type": "string"}


def _object(properties: dict[str, Any], required: list[str], description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    if description:
        schema["description"] = description
    return schema


_WEIGHT = _schema("Weight")
_TIMESTAMP = {
    "type": ["string", "null"],
    "format": "date-time",
    "description": "Leader time, ISO 8601 UTC with a Z; null until it happens.",
}

_SCHEMAS: dict[str, Any] = {
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
    "Printer": _object(
        {"id": _schema("Id"), "company": _string(), "model": _string()}, ["id", "company", "model"]
    ),
    "PrinterCreate": _object(
        {"id": _schema("Id"), "company": _string(), "model": _string()}, ["id", "company", "model"]
    ),
    "PrinterPatch": _object({"company": _string(), "model": _string()}, []),
    "Filament": _object(
        {
            "id": _schema("Id"),
            "type": _string(),
            "color": _string(),
            "total_weight_in_grams": _WEIGHT,
            "remaining_weight_in_grams": _WEIGHT,
            "reserved_weight_in_grams": {
                **_WEIGHT,
                "description": "Summed weight of its Queued, Running, Paused jobs.",
            },
            "available_weight_in_grams": {**_WEIGHT, "description": "remaining - reserved."},
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
    "FilamentCreate": _object(
        {
            "id": _schema("Id"),
            "type": _string(),
            "color": _string(),
            "total_weight_in_grams": _WEIGHT,
            "remaining_weight_in_grams": {
                **_WEIGHT,
                "description": "At most total_weight_in_grams (else 422).",
            },
        },
        ["id", "type", "color", "total_weight_in_grams", "remaining_weight_in_grams"],
    ),
    "FilamentPatch": _object(
        {
            "type": _string(),
            "color": _string(),
            "total_weight_in_grams": _WEIGHT,
            "remaining_weight_in_grams": _WEIGHT,
        },
        [],
        "The result must keep remaining <= total (else 422 invalid_field) and reserved <= remaining "
        "(else 409 insufficient_filament).",
    ),
    "Job": _object(
        {
            "job_id": _schema("Id"),
            "printer_id": _schema("Id"),
            "filament_id": _schema("Id"),
            "print_weight_in_grams": _WEIGHT,
            "status": _schema("Status"),
            "details": _string(),
            "created_at": _TIMESTAMP,
            "started_at": _TIMESTAMP,
            "ended_at": _TIMESTAMP,
            "used_weight_in_grams": {
                "anyOf": [_WEIGHT, {"type": "null"}],
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
    "JobCreate": _object(
        {
            "job_id": _schema("Id"),
            "printer_id": _schema("Id"),
            "filament_id": _schema("Id"),
            "print_weight_in_grams": {
                **_WEIGHT,
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
    "Problem": _object(
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
    "Member": _object(
        {
            "node_id": _schema("Id"),
            "addr": _string("HOST:PORT of its raft address."),
            "role": {"type": "string", "enum": ["voter", "learner"]},
        },
        ["node_id", "addr", "role"],
    ),
    "RaftStatus": _object(
        {
            "node_id": _string(),
            "state": {"type": "string", "enum": ["Leader", "Follower", "Candidate"]},
            "term": {"type": "integer", "minimum": 0},
            "leader_id": {"type": ["string", "null"]},
            "commit_index": {"type": "integer", "minimum": 0},
            "applied_index": {"type": "integer", "minimum": 0},
            "members": {"type": "array", "items": _schema("Member")},
        },
        ["node_id", "state", "term", "leader_id", "commit_index", "applied_index", "members"],
    ),
    "Joined": _object(
        {"node_id": _schema("Id"), "addr": _string(), "status": {"const": "joined"}},
        ["node_id", "addr", "status"],
    ),
    "Transferred": _object({"to": _schema("Id"), "status": {"const": "transferred"}}, ["to", "status"]),
    "Event": _object(
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
_SSE_EVENT = _object(
    {
        "id": {"type": "string", "pattern": "^[0-9]+$", "description": "The log index."},
        "event": {"type": "string", "description": "The event type, as in data.type."},
        "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": _schema("Event")},
    },
    ["id", "event", "data"],
    "One event; keep-alive comments (': keep-alive') are sent while the stream is quiet.",
)

_PARAMETERS: dict[str, Any] = {
    "limit": {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "At most this many items.",
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_PAGE_NUMBER},
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

_RESPONSES: dict[str, Any] = {
    "MalformedJson": _problem_response("malformed_json: the body is not JSON, or not an object."),
    "NotFound": _problem_response("not_found: the id in the path does not exist."),
    "Conflict": _problem_response(
        "already_exists, insufficient_filament, invalid_transition, printer_busy or in_use."
    ),
    "TooLarge": _problem_response(f"too_large: the body is over {MAX_BODY_BYTES} bytes."),
    "Unprocessable": _problem_response(
        "invalid_field (field names it), unknown_printer, unknown_filament, or idempotency_key_reused (the "
        "Idempotency-Key was first used for another request)."
    ),
    "Unavailable": _problem_response(
        "no_leader (no leader known within the request timeout) or stopping.", retry_after=True
    ),
    "Timeout": _problem_response("timeout: the outcome is not known yet; it may still apply."),
}


def _probe(name: str, summary: str, responses: dict[str, Any]) -> dict[str, Any]:
    head = {status: {"description": response["description"]} for status, response in responses.items()}
    return {
        "get": {"tags": ["ops"], "operationId": name, "summary": summary, "responses": responses},
        "head": {
            "tags": ["ops"],
            "operationId": f"{name}Head",
            "summary": summary + " No body.",
            "responses": head,
        },
    }


def _paths() -> dict[str, Any]:
    text = {"text/plain": {"schema": {"type": "string"}}}
    return {
        "/api/v1/printers": _collection(
            "printers", "Printer", "PrinterCreate", "The seed's {id, company, model}."
        ),
        "/api/v1/printers/{printer_id}": _single(
            "printers", "Printer", "printer_id", "PrinterPatch", "printer"
        ),
        "/api/v1/filaments": _collection(
            "filaments",
            "Filament",
            "FilamentCreate",
            "The seed's filament fields; remaining <= total.",
        ),
        "/api/v1/filaments/{filament_id}": _single(
            "filaments", "Filament", "filament_id", "FilamentPatch", "filament"
        ),
        "/api/v1/print_jobs": _collection(
            "print_jobs",
            "Job",
            "JobCreate",
            "The seed's job fields; the weight is reserved on the filament.",
            [
                {
                    "name": "status",
                    "in": "query",
                    "required": False,
                    "description": "Only jobs in this status.",
                    "schema": _schema("Status"),
                },
                _query_id("printer_id", "Only jobs on this printer."),
                _query_id("filament_id", "Only jobs using this filament."),
            ],
        ),
        "/api/v1/print_jobs/{job_id}": _single("print_jobs", "Job", "job_id", None, "print job"),
        "/api/v1/print_jobs/{job_id}/status": {
            "put": {
                "tags": ["print_jobs"],
                "operationId": "setJobStatus",
                "summary": "Move a job along the transition table (the seed's endpoint).",
                "description": "Done consumes the job's weight; Cancelled and Failed release the reservation "
                "and consume used_grams (default 0). The same status, or Queued, is invalid_transition.",
                "parameters": [
                    _path_id("job_id", "print job"),
                    {"name": "status", "in": "query", "required": True, "schema": _schema("Status")},
                    {
                        "name": "used_grams",
                        "in": "query",
                        "required": False,
                        "description": "Filament used, reported with Cancelled or Failed.",
                        "schema": _WEIGHT,
                    },
                    _IDEMPOTENCY,
                ],
                "responses": {
                    "200": _json(_schema("Job"), "The job after the change."),
                    **_errors("NotFound", "Unprocessable", "Conflict", "Unavailable", "Timeout"),
                },
            }
        },
        "/api/v1/events": {
            "get": {
                "tags": ["events"],
                "operationId": "streamEvents",
                "summary": "Server-Sent Events of every applied change: id = log index, event = type, "
                "data = Event.",
                "description": "Resume with Last-Event-ID (or ?after=); without either the stream starts at "
                "this node's applied index. One entry may emit several events; only the last of them carries "
                "the id. The stream ends if the client falls behind; reconnect.",
                "parameters": [
                    {
                        "name": "Last-Event-ID",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
                    },
                    {
                        "name": "after",
                        "in": "query",
                        "required": False,
                        "description": "Start after this log index.",
                        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_INDEX},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "The event stream.",
                        "content": {"text/event-stream": {"schema": _SSE_EVENT}},
                    },
                    **_errors("Unprocessable"),
                },
            }
        },
        "/join": {
            "post": {
                "tags": ["cluster"],
                "operationId": "join",
                "summary": "Add a node (a learner, promoted once caught up); any node accepts it; "
                "idempotent.",
                "parameters": [
                    _query_id("node_id", "The joining node's id.", required=True),
                    {
                        "name": "addr",
                        "in": "query",
                        "required": True,
                        "description": "Its raft address, HOST:PORT.",
                        "schema": {"type": "string", "pattern": ADDR_PATTERN},
                    },
                ],
                "responses": {
                    "200": _json(_schema("Joined"), "Joined (or already a member with that address)."),
                    **_errors("Unprocessable", "Conflict", "Unavailable", "Timeout"),
                },
            }
        },
        "/raft/state": {
            "get": {
                "tags": ["cluster"],
                "operationId": "raftState",
                "summary": "This node's role, as a bare word.",
                "responses": {
                    "200": {
                        "description": "Leader, Follower or Candidate (a pre-candidate is Follower).",
                        "content": {
                            "text/plain": {
                                "schema": {"type": "string", "enum": ["Leader", "Follower", "Candidate"]}
                            }
                        },
                    }
                },
            }
        },
        "/raft/status": {
            "get": {
                "tags": ["cluster"],
                "operationId": "raftStatus",
                "summary": "This node's view of the cluster.",
                "responses": {"200": _json(_schema("RaftStatus"), "Status.")},
            }
        },
        "/raft/members/{node_id}": {
            "delete": {
                "tags": ["cluster"],
                "operationId": "removeMember",
                "summary": "Remove a member from the cluster.",
                "parameters": [_path_id("node_id", "member")],
                "responses": {
                    "204": {"description": "Removed."},
                    **_errors("NotFound", "Conflict", "Unavailable", "Timeout"),
                },
            }
        },
        "/raft/transfer-leadership": {
            "post": {
                "tags": ["cluster"],
                "operationId": "transferLeadership",
                "summary": "Hand leadership to a voter.",
                "parameters": [_query_id("to", "The voter to become leader.", required=True)],
                "responses": {
                    "200": _json(_schema("Transferred"), "Transferred."),
                    **_errors("NotFound", "Unprocessable", "Conflict", "Unavailable", "Timeout"),
                },
            }
        },
        "/healthz": _probe(
            "healthz",
            "The process is up.",
            {"200": _json(_object({"status": {"const": "ok"}}, ["status"]), "Up.")},
        ),
        "/readyz": _probe(
            "readyz",
            "Knows a leader and has applied its commit index.",
            {
                "200": _json(_object({"status": {"const": "ready"}}, ["status"]), "Ready."),
                "503": _problem_response("not_ready.", retry_after=True),
            },
        ),
        "/metrics": {
            "get": {
                "tags": ["ops"],
                "operationId": "metrics",
                "summary": "Prometheus text exposition.",
                "responses": {"200": {"description": "Metrics.", "content": text}},
            }
        },
        "/openapi.json": {
            "get": {
                "tags": ["ops"],
                "operationId": "openapi",
                "summary": "This document.",
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1.")},
            }
        },
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "printfarm",
            "version": "1.0.0",
            "description": "A Raft-replicated 3D-printer farm. Any node accepts any request: writes and "
            "linearizable reads are forwarded to the leader. Every error is "
            "application/problem+json. Request bodies over 64 KiB are refused (413)." + _IGNORED,
        },
        "paths": _paths(),
        "components": {
            "schemas": _SCHEMAS,
            "parameters": _PARAMETERS,
            "responses": _RESPONSES,
        },
    }
