"""The OpenAPI side of access control: the bootstrap and token endpoints, the bearer scheme, and the 401 /
403 answers every operation but the probes may give. Applied to the document by with_access()."""

from __future__ import annotations

import copy
from typing import Any

from farm.roles import ROLES
from httpapi.access import ALWAYS_OPEN, required_role
from httpapi.openapi_components import object_schema, problem_response, ref, schema

_ID = schema("Id")
_CREATED_AT = {"type": "string", "description": "When the token was created (leader time, ISO 8601, Z)."}
_TOKEN_FIELDS = {
    "id": _ID,
    "name": {"type": "string"},
    "role": {"type": "string", "enum": list(ROLES)},
    "created_at": _CREATED_AT,
}
_SECRET = {"type": "string", "pattern": "^pf_[A-Za-z0-9_-]{43}$", "description": "The secret, shown once."}

SCHEMAS: dict[str, Any] = {
    "Token": object_schema(_TOKEN_FIELDS, list(_TOKEN_FIELDS)),
    "NewToken": object_schema({**_TOKEN_FIELDS, "token": _SECRET}, [*_TOKEN_FIELDS, "token"]),
    "TokenRequest": object_schema(
        {"name": _ID, "role": {"type": "string", "enum": list(ROLES)}}, ["name", "role"]
    ),
    "BootstrapRequest": object_schema({"name": _ID}, []),
}

RESPONSES: dict[str, Any] = {
    "Unauthenticated": {
        **problem_response("unauthenticated: a missing, malformed, unknown or revoked token."),
        "headers": {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    },
    "Forbidden": problem_response(
        "forbidden: the token's role may not do this; protected_mode: an open cluster served only to "
        "loopback clients."
    ),
    "QuotaExceeded": problem_response(
        "quota_exceeded: the farm's state is over the cluster's quota (--max-state-bytes): only deletes, "
        "job status changes and a printer's own reports apply until it shrinks."
    ),
}
# Refused by the HTTP server before any route sees the request (actors/http_limits.py).
_BEFORE_ROUTES = (
    " A request head (request line and headers) over the node's limit is refused (431 header_too_large)."
)


def _created(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {
            "Location": {"schema": {"type": "string"}},
            "Cache-Control": {"schema": {"type": "string"}},
        },
        "content": {"application/json": {"schema": schema("NewToken")}},
    }


_CONFLICT = problem_response("already_bootstrapped, not_bootstrapped or last_admin.")
_UNAVAILABLE = ref("responses", "Unavailable")

PATHS: dict[str, Any] = {
    "/api/v1/acl/bootstrap": {
        "post": {
            "tags": ["access"],
            "operationId": "bootstrapAcl",
            "summary": "Switch access control on, once, from a loopback client; answers the first "
            "admin token.",
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": schema("BootstrapRequest")}},
            },
            "responses": {
                "201": _created("Bootstrapped: the admin token's secret, shown only here."),
                "400": ref("responses", "MalformedJson"),
                "403": problem_response("forbidden: not a loopback client."),
                "409": _CONFLICT,
                "422": ref("responses", "Unprocessable"),
                "503": _UNAVAILABLE,
                "504": ref("responses", "Timeout"),
            },
        }
    },
    "/api/v1/tokens": {
        "get": {
            "tags": ["access"],
            "operationId": "listTokens",
            "summary": "Every token, never its secret (admin).",
            "parameters": [ref("parameters", "consistency")],
            "responses": {
                "200": {
                    "description": "The tokens, oldest first.",
                    "content": {"application/json": {"schema": {"type": "array", "items": schema("Token")}}},
                },
                "422": ref("responses", "Unprocessable"),
                "503": _UNAVAILABLE,
                "504": ref("responses", "Timeout"),
            },
        },
        "post": {
            "tags": ["access"],
            "operationId": "createToken",
            "summary": "Create a token with a role (admin); its secret is in this answer only.",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": schema("TokenRequest")}},
            },
            "responses": {
                "201": _created("Created."),
                "400": ref("responses", "MalformedJson"),
                "409": _CONFLICT,
                "413": ref("responses", "TooLarge"),
                "422": ref("responses", "Unprocessable"),
                "503": _UNAVAILABLE,
                "504": ref("responses", "Timeout"),
            },
        },
    },
    "/api/v1/tokens/{token_id}": {
        "delete": {
            "tags": ["access"],
            "operationId": "revokeToken",
            "summary": "Revoke a token (admin); each node refuses it once the deletion is applied there.",
            "parameters": [
                {"name": "token_id", "in": "path", "required": True, "schema": _ID},
                ref("parameters", "IdempotencyKey"),
            ],
            "responses": {
                "204": {"description": "Revoked."},
                "404": ref("responses", "NotFound"),
                "409": _CONFLICT,
                "422": ref("responses", "Unprocessable"),
                "503": _UNAVAILABLE,
                "504": ref("responses", "Timeout"),
            },
        }
    },
}


def with_access(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with the access endpoints, the bearer scheme, and 401/403 on every guarded operation."""
    document = copy.deepcopy(document)
    document["paths"].update(copy.deepcopy(PATHS))
    components = document["components"]
    components["schemas"].update(SCHEMAS)
    components["responses"].update(RESPONSES)
    components["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (pf_...). Not needed while the cluster is open (not bootstrapped).",
        }
    }
    document["security"] = [{"bearer": []}, {}]
    for path, item in document["paths"].items():
        if path in ALWAYS_OPEN:
            item_security: list[Any] = []
            for method, operation in item.items():
                if method != "parameters":
                    operation["security"] = item_security
            continue
        for method, operation in item.items():
            if method == "parameters":
                continue
            operation["description"] = (
                operation.get("description", "") + f" Role needed once bootstrapped: "
                f"{required_role(method.upper(), path)}."
            ).strip()
            responses = operation["responses"]
            responses.setdefault("401", ref("responses", "Unauthenticated"))
            responses.setdefault("403", ref("responses", "Forbidden"))
            if _may_grow_the_state(method, path):
                responses.setdefault("507", ref("responses", "QuotaExceeded"))
    document["info"]["description"] += _BEFORE_ROUTES
    return document


def _may_grow_the_state(method: str, path: str) -> bool:
    """A write the quota refuses (farm/quota.py): a creation or a change; clear-bed passes it."""
    return path.startswith("/api/v1/") and method in ("post", "patch") and not path.endswith("/clear-bed")
