"""The farm's workflow in the OpenAPI document: new fields on printers, filaments and jobs, and new routes.

openapi.py calls extend(): the shapes the seed knew gain fields (never lose one) and the paths gain routes.
Events: ledger entries travel in their own event type, `filament.ledger` (one per entry, after the
`filament.updated` of the same log index), not inside filament.updated.
"""

from __future__ import annotations

from typing import Any

from farm.ledger import KINDS
from farm.lifecycle import FAILURE_REASONS, MAX_PRIORITY, MIN_PRIORITY, PRINTER_STATUSES, STATUSES
from httpapi.openapi_components import WEIGHT, object_schema, problem_response, ref, schema
from httpapi.openapi_components import json_response as _json
from httpapi.openapi_components import path_id as _path_id

_PRIORITY = {
    "type": "integer",
    "minimum": MIN_PRIORITY,
    "maximum": MAX_PRIORITY,
    "description": "Higher runs first; equal priorities run oldest first. Default 0.",
}
_REASON = {"type": "string", "enum": list(FAILURE_REASONS), "description": "Why the job failed."}
_THRESHOLD = {
    **WEIGHT,
    "description": "low_stock is true while available_weight_in_grams is below this; the event "
    "filament.low_stock fires each time it becomes true.",
}
_COUNTS = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}

_NEW_FIELDS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "Printer": (
        {
            "status": {
                "type": "string",
                "enum": list(PRINTER_STATUSES),
                "description": "Derived: printing (a Running job), paused (a Paused job), maintenance, "
                "offline or error (reported by its connection), else idle.",
            },
            "current_job_id": {
                "anyOf": [schema("Id"), {"type": "null"}],
                "description": "Its Running or Paused job.",
            },
            "queue_length": {"type": "integer", "minimum": 0, "description": "Its Queued jobs."},
            "maintenance": {"type": "boolean", "description": "A printer in maintenance starts no job."},
            "bed_clear": {
                "type": "boolean",
                "description": "False once a job on it ends Done or Failed, until POST .../clear-bed.",
            },
        },
        ["status", "current_job_id", "queue_length", "maintenance", "bed_clear"],
    ),
    "PrinterPatch": ({"maintenance": {"type": "boolean"}}, []),
    "Filament": (
        {
            "low_stock_threshold_in_grams": {"anyOf": [WEIGHT, {"type": "null"}]},
            "low_stock": {"type": "boolean", "description": "available < low_stock_threshold_in_grams."},
        },
        ["low_stock_threshold_in_grams", "low_stock"],
    ),
    "FilamentCreate": ({"low_stock_threshold_in_grams": _THRESHOLD}, []),
    "FilamentPatch": ({"low_stock_threshold_in_grams": _THRESHOLD}, []),
    "Job": (
        {
            "priority": _PRIORITY,
            "progress_percent": {
                "anyOf": [{"type": "integer", "minimum": 0, "maximum": 100}, {"type": "null"}],
                "description": "0 when it starts, 100 once Done; null before it runs.",
            },
            "failure_reason": {"anyOf": [_REASON, {"type": "null"}], "description": "null unless Failed."},
            "retry_of": {
                "anyOf": [schema("Id"), {"type": "null"}],
                "description": "The job this one retries.",
            },
        },
        ["priority", "progress_percent", "failure_reason", "retry_of"],
    ),
    "JobCreate": ({"priority": _PRIORITY}, []),
}

_SCHEMAS: dict[str, Any] = {
    "JobPatch": object_schema(
        {
            "priority": {**_PRIORITY, "description": "Only while the job is Queued (else 409 not_queued)."},
            "details": {"type": "string"},
        },
        [],
    ),
    "Progress": object_schema(
        {
            "percent": {"type": "integer", "minimum": 0, "maximum": 100, "description": "Never goes down."},
            "used_grams": {
                **WEIGHT,
                "description": "Grams used so far: never goes down, at most the job's weight; the "
                "increase is consumed from the spool at once.",
            },
        },
        [],
        "Either or both; only while the job is Running or Paused (else 409 invalid_transition).",
    )
    | {"anyOf": [{"required": ["percent"]}, {"required": ["used_grams"]}]},
    "Retry": object_schema({"job_id": schema("Id")}, ["job_id"], "The new job's id."),
    "LedgerEntry": object_schema(
        {
            "index": {"type": "integer", "minimum": 1, "description": "The log index of the change."},
            "at": {"type": "string", "format": "date-time"},
            "kind": {"type": "string", "enum": list(KINDS)},
            "job_id": {"anyOf": [schema("Id"), {"type": "null"}]},
            "remaining_delta": {"type": "integer"},
            "reserved_delta": {"type": "integer"},
            "remaining_after": WEIGHT,
            "reserved_after": WEIGHT,
        },
        [
            "index",
            "at",
            "kind",
            "job_id",
            "remaining_delta",
            "reserved_delta",
            "remaining_after",
            "reserved_after",
        ],
        "One change of a spool's grams; after-values are the previous entry's plus the deltas.",
    ),
    "Stats": object_schema(
        {
            "jobs": {**_COUNTS, "description": f"Jobs by status ({', '.join(STATUSES)})."},
            "failure_reasons": {**_COUNTS, "description": "Failed jobs by reason."},
            "grams_consumed": {"type": "integer", "minimum": 0},
            "grams_consumed_by_type": {**_COUNTS, "description": "By the spool's type when consumed."},
            "printers": {**_COUNTS, "description": "Printers by status."},
        },
        ["jobs", "failure_reasons", "grams_consumed", "grams_consumed_by_type", "printers"],
    ),
}

_EVENT_TYPES = (
    "printer.created|updated|deleted (updated also when its status, current job, maintenance or bed "
    "changes), "
    "filament.created|updated|deleted, filament.ledger (one per ledger entry: the entry with filament_id), "
    "filament.low_stock (the filament, each time low_stock becomes true), job.created, job.status_changed, "
    "job.updated (PATCH), job.progress"
)


def _errors(*statuses: str) -> dict[str, Any]:
    names = {
        "400": "MalformedJson",
        "404": "NotFound",
        "409": "Conflict",
        "413": "TooLarge",
        "422": "Unprocessable",
        "503": "Unavailable",
        "504": "Timeout",
    }
    return {status: ref("responses", names[status]) for status in statuses}


def _body(name: str, description: str) -> dict[str, Any]:
    return {
        "required": True,
        "description": description,
        "content": {"application/json": {"schema": schema(name)}},
    }


_READ = ("404", "422", "503", "504")
_WRITE = ("400", "404", "409", "413", "422", "503", "504")
_PAGING = [ref("parameters", "limit"), ref("parameters", "offset"), ref("parameters", "consistency")]
_KEY = ref("parameters", "IdempotencyKey")
_TOTAL = {
    "X-Total-Count": {
        "description": "How many items in all (before limit and offset).",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
}


def _paths() -> dict[str, Any]:
    return {
        "/api/v1/printers/{printer_id}/queue": {
            "get": {
                "tags": ["printers"],
                "operationId": "getPrinterQueue",
                "summary": "The printer's Queued jobs in the order they will run: priority descending, then "
                "oldest first.",
                "parameters": [_path_id("printer_id", "printer"), *_PAGING],
                "responses": {
                    "200": _json({"type": "array", "items": schema("Job")}, "The queue.", _TOTAL),
                    **_errors(*_READ),
                },
            }
        },
        "/api/v1/printers/{printer_id}/clear-bed": {
            "post": {
                "tags": ["printers"],
                "operationId": "clearBed",
                "summary": "The bed is clear again: the printer may start its next job.",
                "parameters": [_path_id("printer_id", "printer"), _KEY],
                "responses": {"204": {"description": "Cleared."}, **_errors("404", "422", "503", "504")},
            }
        },
        "/api/v1/print_jobs/{job_id}/progress": {
            "put": {
                "tags": ["print_jobs"],
                "operationId": "reportProgress",
                "summary": "Report a Running or Paused job's progress and the grams it used so far.",
                "parameters": [_path_id("job_id", "print job"), _KEY],
                "requestBody": _body("Progress", "percent and/or used_grams."),
                "responses": {"200": _json(schema("Job"), "The job."), **_errors(*_WRITE)},
            }
        },
        "/api/v1/print_jobs/{job_id}/retry": {
            "post": {
                "tags": ["print_jobs"],
                "operationId": "retryJob",
                "summary": "Queue a new job like a Failed or Cancelled one (same printer, filament, weight, "
                "details, priority and file, retry_of set), reserving its weight again.",
                "parameters": [_path_id("job_id", "print job"), _KEY],
                "requestBody": _body("Retry", "The new job's id."),
                "responses": {
                    "201": _json(
                        schema("Job"),
                        "The new job.",
                        {
                            "Location": {
                                "description": "The path of the new job.",
                                "required": True,
                                "schema": {"type": "string"},
                            }
                        },
                    ),
                    **_errors(*_WRITE),
                },
            }
        },
        "/api/v1/filaments/{filament_id}/ledger": {
            "get": {
                "tags": ["filaments"],
                "operationId": "getFilamentLedger",
                "summary": "Every change of the spool's grams, oldest first (create, reserve, release, "
                "consume, adjust).",
                "parameters": [_path_id("filament_id", "filament"), *_PAGING],
                "responses": {
                    "200": _json({"type": "array", "items": schema("LedgerEntry")}, "The entries.", _TOTAL),
                    **_errors(*_READ),
                },
            }
        },
        "/api/v1/stats": {
            "get": {
                "tags": ["stats"],
                "operationId": "getStats",
                "summary": "Counts of jobs, failure reasons, grams consumed and printer statuses.",
                "parameters": [ref("parameters", "consistency")],
                "responses": {"200": _json(schema("Stats"), "The stats."), **_errors("422", "503", "504")},
            }
        },
    }


def extend(document: dict[str, Any]) -> dict[str, Any]:
    """Add the workflow's fields and routes to `document` (built fresh by openapi.document())."""
    # the components are module-level dicts shared by every call: extend copies, never changes them
    components = document["components"] = {name: dict(part) for name, part in document["components"].items()}
    schemas = components["schemas"]
    for name, (properties, required) in _NEW_FIELDS.items():
        target = schemas[name] = {**schemas[name]}
        target["properties"] = {**target["properties"], **properties}
        target["required"] = [*target["required"], *required]
    schemas.update(_SCHEMAS)
    event = schemas["Event"] = {**schemas["Event"]}
    event["properties"] = {**event["properties"], "type": {"type": "string", "description": _EVENT_TYPES}}
    components["responses"]["Conflict"] = problem_response(
        "already_exists, insufficient_filament, invalid_transition, printer_busy, in_use, not_queued, "
        "printer_unavailable (maintenance, offline or error) or bed_not_clear; for membership changes "
        "address_conflict or would_lose_quorum."
    )
    paths = document["paths"]
    paths.update(_paths())
    single = paths["/api/v1/print_jobs/{job_id}"] = {**paths["/api/v1/print_jobs/{job_id}"]}
    single["patch"] = {
        "tags": ["print_jobs"],
        "operationId": "updateJob",
        "summary": "Change a job's priority (only while Queued) and/or details.",
        "parameters": [_KEY],
        "requestBody": _body("JobPatch", "Absent fields keep their value."),
        "responses": {"200": _json(schema("Job"), "The updated job."), **_errors(*_WRITE)},
    }
    status = paths["/api/v1/print_jobs/{job_id}/status"]["put"]
    status["parameters"] = [
        *status["parameters"],
        {
            "name": "reason",
            "in": "query",
            "required": False,
            "schema": _REASON,
            "description": "Only with status=Failed (default other).",
        },
    ]
    status["description"] += (
        " Cancelled and Failed consume the larger of used_grams and what progress reported; Done and Failed "
        "leave the bed not clear."
    )
    return document
