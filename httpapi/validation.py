"""Shape checks for bodies, query strings and headers. Meaning (does it exist, may it change) is the farm's.

Unknown body fields are ignored. A field that is present must have the right type: null is not "absent".
A field's rule is the farm's own check (farm/validation.py), applied here to refuse before proposing.
"""

from __future__ import annotations

import re
from typing import Any

import falcon.asgi

from farm.idempotency import INTERNAL_KEY_PREFIX
from farm.validation import MAX_ID_LENGTH, Check, check_status, check_text, check_weight, is_valid_id
from farm.validation import check_id as farm_check_id
from httpapi.errors import Problem, invalid, malformed, too_large
from httpapi.jsonio import loads

MAX_BODY_BYTES = 64 * 1024
MAX_ID_CHARS = MAX_ID_LENGTH
MAX_PAGE_NUMBER = 1_000_000_000
MAX_LIMIT = 1000  # a page; without `limit` a list is everything, streamed (httpapi/full_lists.py)
CONSISTENCIES = ("linearizable", "stale")

# An id follows the farm's rule (farm/validation.py, used below): 1..128 printable characters (Python's
# str.isprintable(), i.e. each in a Unicode category L, M, N, P or S, or the space), none of them "/" (an id
# is one path segment). ID_PATTERN states the same rule for openapi.py.
ID_PATTERN = r"^(?!.*/)[\p{L}\p{M}\p{N}\p{P}\p{S} ]+$"

# HOST:PORT, HOST a name, an IPv4 address or a bracketed IPv6 address, PORT 1..65535 without leading zeros.
ADDR_PATTERN = (
    "^(\\[[0-9A-Fa-f:.]{2,45}\\]|[A-Za-z0-9][A-Za-z0-9.-]{0,252}):"
    "([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$"
)
_ADDR_RE = re.compile(ADDR_PATTERN)
MAX_INDEX = 10**18 - 1
_MISSING: Any = object()


async def read_object(req: falcon.asgi.Request, optional: bool = False) -> dict[str, Any]:
    """The request body as a JSON object: 413 over 64 KiB (declared or actual), 400 if not a JSON object.
    `optional`: no body (or only whitespace) is {} (a bootstrap's fields are all optional)."""
    declared = req.content_length
    if declared is not None and declared > MAX_BODY_BYTES:
        raise too_large()
    body = await req.stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise too_large()
    if optional and not body.strip():
        return {}
    if not body:
        raise malformed("The request body is empty; a JSON object is required.")
    try:
        value = loads(body.decode())
    except (ValueError, RecursionError):
        raise malformed("The request body is not valid UTF-8 JSON.") from None
    if type(value) is not dict:
        raise malformed("The request body must be a JSON object.")
    return value


def _checked(check: Check, value: Any, name: str) -> Any:
    refusal = check(value, name)
    if refusal is not None:
        raise invalid(name, f"{refusal.detail}.")
    return value


def _absent(name: str, required: bool, default: Any = None) -> Any:
    if required:
        raise invalid(name, f"{name} is required.")
    return default


def check_id(value: Any, name: str) -> str:
    return _checked(farm_check_id, value, name)


def id_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name, _MISSING)
    return _absent(name, True) if value is _MISSING else check_id(value, name)


def text_field(
    body: dict[str, Any], name: str, required: bool = True, default: str | None = None
) -> str | None:
    value = body.get(name, _MISSING)
    return _absent(name, required, default) if value is _MISSING else _checked(check_text, value, name)


def weight_field(body: dict[str, Any], name: str, required: bool = True) -> int | None:
    value = body.get(name, _MISSING)
    return _absent(name, required) if value is _MISSING else _checked(check_weight, value, name)


def checked_field(body: dict[str, Any], name: str, check: Check, required: bool = False) -> Any:
    """A body field checked by one of the farm's own rules (farm/validation.py); None when absent."""
    value = body.get(name, _MISSING)
    return _absent(name, required) if value is _MISSING else _checked(check, value, name)


def status_value(value: Any, name: str = "status") -> str:
    return _checked(check_status, value, name)


def query(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if type(value) is list:
        raise invalid(name, f"{name} is given more than once.")
    return value


def query_int(params: dict[str, Any], name: str, maximum: int) -> int | None:
    value = query(params, name)
    if value is None:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 19) or int(value) > maximum:
        raise invalid(name, f"{name} must be an integer between 0 and {maximum}.")
    return int(value)


def query_id(params: dict[str, Any], name: str, required: bool = False) -> str | None:
    value = query(params, name)
    if value is None:
        if required:
            raise invalid(name, f"{name} is required.")
        return None
    return check_id(value, name)


def consistency(params: dict[str, Any]) -> str:
    value = query(params, "consistency")
    if value is None:
        return "linearizable"
    if value not in CONSISTENCIES:
        raise invalid("consistency", "consistency must be linearizable or stale.")
    return value


def paging(params: dict[str, Any]) -> tuple[int | None, int]:
    limit = query_int(params, "limit", MAX_LIMIT)
    offset = query_int(params, "offset", MAX_PAGE_NUMBER)
    return limit, offset or 0


def idempotency_key(req: falcon.asgi.Request) -> str | None:
    key = req.get_header("Idempotency-Key")
    if key is None:
        return None
    if "," in key and _repeated(req, b"idempotency-key"):  # falcon joins a repeated header with commas
        raise invalid("Idempotency-Key", "Idempotency-Key is given more than once; send one key.")
    if not 0 < len(key) <= MAX_ID_CHARS or not (key.isascii() and key.isprintable()):
        raise invalid(
            "Idempotency-Key", f"Idempotency-Key must be 1 to {MAX_ID_CHARS} printable ASCII characters."
        )
    if key.startswith(INTERNAL_KEY_PREFIX):
        # the farm keeps such keys in a small table sized for the cluster's own retries (farm/idempotency.py)
        raise invalid(
            "Idempotency-Key",
            f"Idempotency-Key must not start with {INTERNAL_KEY_PREFIX!r}: such keys are reserved for the "
            "cluster's own retries.",
        )
    return key


def _repeated(req: falcon.asgi.Request, name: bytes) -> bool:
    headers = req.scope.get("headers")
    return isinstance(headers, list) and sum(1 for header, _ in headers if header == name) > 1


def peer_addr(params: dict[str, Any]) -> str:
    value = query(params, "addr")
    if value is None:
        raise invalid("addr", "addr is required (HOST:PORT).")
    if _ADDR_RE.fullmatch(value) is None:
        raise invalid("addr", "addr must be HOST:PORT with a port between 1 and 65535.")
    return value


def path_id_exists_or_404(value: str, kind: str) -> str:
    """An id that could never have been created cannot exist: answer 404 without asking the cluster."""
    if not is_valid_id(value):
        raise Problem("not_found", f"No {kind} with that id.")
    return value
