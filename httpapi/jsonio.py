"""JSON in and out of the HTTP layer: the standard library's C codec, its encoder built once."""

from __future__ import annotations

import json
from typing import Any

# ensure_ascii keeps every body pure ASCII, so encoding it can never fail whatever text the farm holds.
_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


def dumps(value: Any) -> bytes:
    return _encode(value).encode()


loads = json.loads
