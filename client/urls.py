"""Base URLs: the default node and the parsing of a comma-separated list (no httpx here: cli.py imports this
on every start, the node's too)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

DEFAULT_URL = "http://127.0.0.1:8081"


def parse_urls(urls: str | Sequence[str]) -> list[str]:
    """`"http://a:1, http://b:2/"` or a list -> ["http://a:1", "http://b:2"] (no empty entries)."""
    parts = urls.split(",") if isinstance(urls, str) else list(urls)
    cleaned = [part.strip().rstrip("/") for part in parts if part.strip()]
    if not cleaned:
        raise ValueError("at least one base URL is needed, e.g. http://127.0.0.1:8081")
    for url in cleaned:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} is not an http:// or https:// URL")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
        except ValueError as exc:
            raise ValueError(f"{url!r} is not a valid URL: {exc}") from None
        if not parts.hostname:
            raise ValueError(f"{url!r} names no host")
    return cleaned
