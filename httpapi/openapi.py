"""The hand-written OpenAPI 3.1 document served at /openapi.json: API.md, machine-readable.

Kept beside the code it describes; tests/httpapi check it against the app (every route documented, every
response conforming) with schemathesis.
"""

from __future__ import annotations

from typing import Any

from httpapi.dashboard import openapi_paths as dashboard_paths
from httpapi.openapi_access import with_access
from httpapi.openapi_components import (
    PARAMETERS,
    RESPONSES,
    SCHEMAS,
    SSE_EVENT,
    WEIGHT,
    object_schema,
    problem_response,
    ref,
    schema,
)
from httpapi.openapi_components import json_response as _json
from httpapi.openapi_components import path_id as _path_id
from httpapi.openapi_connections import extend as extend_with_connections
from httpapi.openapi_workflow import extend as extend_with_the_workflow
from httpapi.validation import (
    ADDR_PATTERN,
    MAX_INDEX,
)

_IGNORED = (
    " Unknown fields are ignored; a field that is present must have the documented type (null is refused)."
)


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
    return {statuses[name]: ref("responses", name) for name in names}


_READ_ERRORS = ("Unprocessable", "Unavailable", "Timeout")
_WRITE_ERRORS = ("MalformedJson", "TooLarge", "Unprocessable", "Conflict", "Unavailable", "Timeout")


def _body(name: str, description: str) -> dict[str, Any]:
    return {
        "required": True,
        "description": description + _IGNORED,
        "content": {"application/json": {"schema": schema(name)}},
    }


def _query_id(name: str, description: str, required: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema("Id"),
    }


_PAGING = [ref("parameters", "limit"), ref("parameters", "offset")]
_CONSISTENCY = ref("parameters", "consistency")
_IDEMPOTENCY = ref("parameters", "IdempotencyKey")
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
                "200": _json({"type": "array", "items": schema(item)}, f"The {tag}.", _TOTAL),
                **_errors(*_READ_ERRORS),
            },
        },
        "post": {
            "tags": [tag],
            "operationId": f"create{item}",
            "summary": f"Create a {item.lower()}.",
            "parameters": [_IDEMPOTENCY],
            "requestBody": _body(create, create_text),
            "responses": {"201": _json(schema(item), "Created.", {**_LOCATION}), **_errors(*_WRITE_ERRORS)},
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
            "responses": {"200": _json(schema(item), f"The {what}."), **_errors("NotFound", *_READ_ERRORS)},
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
                "200": _json(schema(item), f"The updated {what}."),
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
                    "schema": schema("Status"),
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
                    {"name": "status", "in": "query", "required": True, "schema": schema("Status")},
                    {
                        "name": "used_grams",
                        "in": "query",
                        "required": False,
                        "description": "Filament used, reported with Cancelled or Failed.",
                        "schema": WEIGHT,
                    },
                    _IDEMPOTENCY,
                ],
                "responses": {
                    "200": _json(schema("Job"), "The job after the change."),
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
                "the id. A resume point older than the node's backlog gets `event: reset` "
                '(data {"oldest_index": N}: re-read, events before N are gone) before the stream goes on; a '
                "client that falls behind gets `event: dropped` and the stream ends: reconnect with "
                "Last-Event-ID.",
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
                        "content": {"text/event-stream": {"schema": SSE_EVENT}},
                    },
                    **_errors("Unprocessable"),
                    "503": problem_response(
                        "too_many_streams (this node serves its maximum of event streams) or stopping.",
                        retry_after=True,
                    ),
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
                    "200": _json(schema("Joined"), "Joined (or already a member with that address)."),
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
                "responses": {"200": _json(schema("RaftStatus"), "Status.")},
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
                    "200": _json(schema("Transferred"), "Transferred."),
                    **_errors("NotFound", "Unprocessable", "Conflict", "Unavailable", "Timeout"),
                },
            }
        },
        "/healthz": _probe(
            "healthz",
            "The process is up.",
            {"200": _json(object_schema({"status": {"const": "ok"}}, ["status"]), "Up.")},
        ),
        "/readyz": _probe(
            "readyz",
            "Knows a leader and has applied its commit index.",
            {
                "200": _json(object_schema({"status": {"const": "ready"}}, ["status"]), "Ready."),
                "503": problem_response("not_ready.", retry_after=True),
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
    return with_access(_document())


def _document() -> dict[str, Any]:
    return extend_with_connections(extend_with_the_workflow({
        "openapi": "3.1.0",
        "info": {
            "title": "printfarm",
            "version": "1.0.0",
            "description": "A Raft-replicated 3D-printer farm. Any node accepts any request: writes and "
            "linearizable reads are forwarded to the leader. Every error is "
            "application/problem+json. Request bodies over 64 KiB are refused (413)." + _IGNORED,
        },
        "paths": {**_paths(), **dashboard_paths()},
        "components": {
            "schemas": SCHEMAS,
            "parameters": PARAMETERS,
            "responses": RESPONSES,
        },
    }))
