"""Printer connections: the rules for a connection's settings and how they show in reads.

A connection is `{"kind": "octoprint", "url": "http(s)://HOST[:PORT][/PATH]", "api_key": "..."}`. The URL may
carry no user name or password (they would end up in logs) and no query or fragment; the key is one token of
printable ASCII (it travels in an HTTP header, so no spaces or control characters). Reads never show the key.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from farm.results import Rejected

KINDS = ("octoprint",)
CONNECTION_STATES = ("connected", "unreachable", "unauthorized")
MAX_URL_LENGTH = 2048
MAX_API_KEY_LENGTH = 256
MASKED_KEY = "***"


def _invalid(field: str, detail: str) -> Rejected:
    return Rejected("invalid_field", detail, field)


def check_kind(value: Any, field: str) -> Rejected | None:
    if value not in KINDS or type(value) is not str:
        return _invalid(field, f"{field} must be one of {', '.join(KINDS)}, got {value!r}"[:300])
    return None


def check_url(value: Any, field: str) -> Rejected | None:
    if type(value) is not str:
        return _invalid(field, f"{field} must be a string")
    if not 0 < len(value) <= MAX_URL_LENGTH:
        return _invalid(field, f"{field} must be 1 to {MAX_URL_LENGTH} characters long")
    if not value.isascii() or not value.isprintable() or " " in value:
        return _invalid(field, f"{field} must be an http or https URL of printable ASCII without spaces")
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError when out of range or not a number
    except ValueError:
        return _invalid(field, f"{field} is not a valid URL")
    if parts.scheme not in ("http", "https"):
        return _invalid(field, f"{field} must start with http:// or https://")
    if not parts.hostname:
        return _invalid(field, f"{field} must name a host, as in http://octopi.local or http://10.0.0.5:5000")
    if parts.username is not None or parts.password is not None:
        return _invalid(field, f"{field} must not carry a user name or password: put the key in api_key")
    if parts.query or parts.fragment:
        return _invalid(field, f"{field} must not have a query or a fragment")
    if port == 0:
        return _invalid(field, f"{field} has port 0")
    return None


def check_api_key(value: Any, field: str) -> Rejected | None:
    if type(value) is not str:
        return _invalid(field, f"{field} must be a string")
    if not 0 < len(value) <= MAX_API_KEY_LENGTH:
        return _invalid(field, f"{field} must be 1 to {MAX_API_KEY_LENGTH} characters long")
    if not value.isascii() or not value.isprintable() or " " in value:
        return _invalid(field, f"{field} must be printable ASCII without spaces (as OctoPrint's keys are)")
    return None


def check_connection_state(value: Any, field: str) -> Rejected | None:
    if value not in CONNECTION_STATES or type(value) is not str:
        return _invalid(field, f"{field} must be one of {', '.join(CONNECTION_STATES)}")
    return None


def shown(kind: str | None, url: str | None) -> dict[str, Any] | None:
    """A connection as reads show it: the key masked."""
    if kind is None or url is None:
        return None
    return {"kind": kind, "url": url, "api_key": MASKED_KEY}


MAX_FILE_LENGTH = 255


def check_file(value: Any, field: str) -> Rejected | None:
    """A file in OctoPrint's local storage: a relative path ("cube.gcode", "parts/cube.gcode")."""
    if type(value) is not str:
        return _invalid(field, f"{field} must be a string")
    if not 0 < len(value) <= MAX_FILE_LENGTH:
        return _invalid(field, f"{field} must be 1 to {MAX_FILE_LENGTH} characters long")
    if not value.isprintable() or "\\" in value:
        return _invalid(field, f"{field} must be printable, without backslashes")
    if value.startswith("/") or any(part in ("", ".", "..") for part in value.split("/")):
        return _invalid(
            field, f"{field} must be a path inside OctoPrint's local storage, as in parts/cube.gcode"
        )
    return None


def connection_refusal(kind: Any, url: Any, api_key: Any, prefix: str) -> Rejected | None:
    """All three settings or none; each by its rule. `prefix` names the fields ("connection.")."""
    if kind is None and url is None and api_key is None:
        return None
    for value, name, check in (
        (kind, "kind", check_kind),
        (url, "url", check_url),
        (api_key, "api_key", check_api_key),
    ):
        refusal = check(value, prefix + name)
        if refusal is not None:
            return refusal
    return None
