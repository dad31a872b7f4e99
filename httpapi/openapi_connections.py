"""Printer connections in the OpenAPI document (API.md, "Printer connections (OctoPrint)").

openapi.py calls extend() after the workflow's: printers gain `connection` and `connection_state`, jobs gain
`file` and `failure_detail`. A read never shows the key: `api_key` is always "***" there.
"""

from __future__ import annotations

from typing import Any

from farm.connections import (
    CONNECTION_STATES,
    KINDS,
    MASKED_KEY,
    MAX_API_KEY_LENGTH,
    MAX_FILE_LENGTH,
    MAX_URL_LENGTH,
)

_URL = {
    "type": "string",
    "maxLength": MAX_URL_LENGTH,
    "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://",
    "description": "The OctoPrint server, http or https, as in http://octopi.local or http://10.0.0.5:5000; "
    "no user name, password, query or fragment.",
}
_SETTINGS = {
    "anyOf": [
        {
            "type": "object",
            "properties": {
                "kind": {"type": "string", "enum": list(KINDS)},
                "url": _URL,
                "api_key": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_API_KEY_LENGTH,
                    "pattern": "^[!-~]+$",
                    "description": "An OctoPrint API key (OctoPrint: Settings > Application Keys, or the "
                    "user's API key). Never shown again.",
                },
            },
            "required": ["kind", "url", "api_key"],
        },
        {"type": "null"},
    ],
    "description": "The printer's OctoPrint; null removes it. The leader follows a connected printer's "
    "OctoPrint and dispatches its queue.",
}
_SHOWN = {
    "anyOf": [
        {
            "type": "object",
            "properties": {
                "kind": {"type": "string", "enum": list(KINDS)},
                "url": {"type": "string"},
                "api_key": {"const": MASKED_KEY},
            },
            "required": ["kind", "url", "api_key"],
        },
        {"type": "null"},
    ]
}
_FILE = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_FILE_LENGTH,
    "description": "A G-code file in the printer's OctoPrint local storage: the connection prints it.",
}

_NEW_FIELDS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "Printer": (
        {
            "connection": _SHOWN,
            "connection_state": {
                "anyOf": [{"type": "string", "enum": list(CONNECTION_STATES)}, {"type": "null"}],
                "description": "connected, unreachable, unauthorized (OctoPrint refused the key), or null "
                "without a connection (or before its first report).",
            },
        },
        ["connection", "connection_state"],
    ),
    "PrinterCreate": ({"connection": _SETTINGS}, []),
    "PrinterPatch": ({"connection": _SETTINGS}, []),
    "Job": (
        {
            "file": {"anyOf": [_FILE, {"type": "null"}]},
            "failure_detail": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "description": "Why its printer's connection failed it (printer_error), in words.",
            },
        },
        ["file", "failure_detail"],
    ),
    "JobCreate": ({"file": {"anyOf": [_FILE, {"type": "null"}]}}, []),
}


def extend(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document["components"]["schemas"]
    for name, (properties, required) in _NEW_FIELDS.items():
        target = schemas[name] = {**schemas[name]}
        target["properties"] = {**target["properties"], **properties}
        target["required"] = [*target["required"], *required]
    return document
