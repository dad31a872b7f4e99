"""printfarm's client: `Client` (the HTTP API from Python, client/api.py) and the CLI's client commands."""

from __future__ import annotations

from client.api import DEFAULT_URL, Client, Event, parse_urls
from client.errors import ApiError, ClientError, Unreachable

__all__ = ["DEFAULT_URL", "ApiError", "Client", "ClientError", "Event", "Unreachable", "parse_urls"]
