"""printfarm's client: `Client` (the HTTP API from Python, client/api.py) and the CLI's client commands.

`Client` and `Event` load httpx on first use, so that importing the CLI (as every node's start does) does not.
"""

from __future__ import annotations

from typing import Any

from client.errors import ApiError, ClientError, Unreachable
from client.urls import DEFAULT_URL, parse_urls

__all__ = ["DEFAULT_URL", "ApiError", "Client", "ClientError", "Event", "Unreachable", "parse_urls"]


def __getattr__(name: str) -> Any:
    if name in ("Client", "Event"):
        from client import api

        return getattr(api, name)
    raise AttributeError(f"module 'client' has no attribute {name!r}")
