"""The `connection` of a printer and the `file` of a job in request bodies (API.md, "Printer connections").

A connection is checked field by field with the farm's own rules (farm/connections.py), so a refusal names
`connection.url` or `connection.api_key`; no refusal ever repeats the key.
"""

from __future__ import annotations

from typing import Any

from farm.connections import check_api_key, check_file, check_kind, check_url
from httpapi.errors import invalid

MISSING: Any = object()
Settings = tuple[str, str, str]  # kind, url, api key


def connection_field(body: dict[str, Any]) -> Settings | Any | None:
    """The body's `connection`: MISSING if absent, None if null (remove it), else the checked settings."""
    value = body.get("connection", MISSING)
    if value is MISSING or value is None:
        return value
    if type(value) is not dict:
        raise invalid("connection", 'connection must be an object {"kind", "url", "api_key"} or null.')
    settings = []
    for name, check in (("kind", check_kind), ("url", check_url), ("api_key", check_api_key)):
        field = f"connection.{name}"
        if name not in value:
            raise invalid(field, f"{field} is required.")
        refusal = check(value[name], field)
        if refusal is not None:
            raise invalid(field, f"{refusal.detail}.")
        settings.append(value[name])
    return (settings[0], settings[1], settings[2])


def file_field(body: dict[str, Any]) -> str | None:
    value = body.get("file")
    if value is None:
        return None
    refusal = check_file(value, "file")
    if refusal is not None:
        raise invalid("file", f"{refusal.detail}.")
    return value
