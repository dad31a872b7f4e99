"""JSON in and out of the HTTP layer: the standard library's C codec, its encoder built once."""

from __future__ import annotations

import json
from typing import Any

# ensure_ascii keeps every body pure ASCII, so encoding it can never fail whatever text the farm holds.
_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


def dumps(value: Any) -> bytes:
    return _encode(value).encode()


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# NaN and Infinity are not JSON (RFC 8259); Python's decoder would accept them.
loads = json.JSONDecoder(parse_constant=_refuse_constant).decode
