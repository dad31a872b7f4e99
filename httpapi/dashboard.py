"""The dashboard: `GET /` and its assets under `/dashboard/`, served from httpapi/static/ inside the package.

Everything the page needs ships here (no CDN, no build step), so it works with no internet. The page talks
only to the node that served it, and its Content-Security-Policy says so to the browser: nothing is fetched
from, or sent to, anywhere else. The files are read once, at start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import falcon
import falcon.asgi

STATIC = Path(__file__).resolve().parent / "static"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
ASSETS = ("app.js", "style.css", "icon.svg")
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def is_dashboard_path(path: str) -> bool:
    """The page and its files hold no data, so access control lets anyone fetch them (the page then asks for
    a token for the API itself): httpapi/access.py's middleware checks this beside /healthz and /readyz."""
    return path == "/" or path.startswith("/dashboard/")


def _load(name: str) -> tuple[bytes, str]:
    return (STATIC / name).read_bytes(), _TYPES[Path(name).suffix]


def _send(resp: falcon.asgi.Response, asset: tuple[bytes, str]) -> None:
    resp.data, resp.content_type = asset
    for name, value in _HEADERS.items():
        resp.set_header(name, value)


class DashboardResource:
    """GET / -> index.html. The page itself holds no data: it reads the API like any client."""

    def __init__(self) -> None:
        self._page = _load("index.html")

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        _send(resp, self._page)


class DashboardAssetResource:
    def __init__(self) -> None:
        self._assets = {name: _load(name) for name in ASSETS}

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, asset: str) -> None:
        found = self._assets.get(asset)
        if found is None:
            raise falcon.HTTPNotFound(description=f"The dashboard has no asset named {asset[:64]!r}.")
        _send(resp, found)


def openapi_paths() -> dict[str, Any]:
    """The dashboard's routes in the OpenAPI document (httpapi/openapi.py adds them to its paths)."""
    return {
        "/": {
            "get": {
                "tags": ["dashboard"],
                "operationId": "dashboard",
                "summary": "The live dashboard: an HTML page that reads this API from the browser.",
                "responses": {
                    "200": {
                        "description": "The page.",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/dashboard/{asset}": {
            "get": {
                "tags": ["dashboard"],
                "operationId": "dashboardAsset",
                "summary": "One of the dashboard's files (script, style sheet, icon).",
                "parameters": [
                    {
                        "name": "asset",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": list(ASSETS)},
                    }
                ],
                "responses": {
                    "200": {"description": "The file.", "content": {"*/*": {"schema": {"type": "string"}}}},
                    "404": {"$ref": "#/components/responses/NotFound"},
                },
            }
        },
    }
