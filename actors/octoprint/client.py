"""An async client for the few OctoPrint REST calls a connection makes (httpx, one kept-alive connection).

Every failure is one of a few typed errors, so the connection actor can tell "OctoPrint is not there" from "it
refuses our key" from "it refuses this request". The client never retries on its own: the actor decides when
to call again (backoff), so a wrong key costs one request per backoff period, not a storm. Every request of
every client on a node passes one shared semaphore: a farm of slow printers cannot pile up requests.
The API key goes only into the X-Api-Key header: no repr, message or log line here contains it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import quote

import httpx

# httpx logs every request at INFO: three lines a second per printer would bury the node's own log
logging.getLogger("httpx").setLevel(logging.WARNING)

DEFAULT_TIMEOUT = 3.0  # seconds for connect, read and write: a poll runs every ~1 s
DEFAULT_NODE_CONCURRENCY = 8


class OctoPrintError(Exception):
    """Base of the client's errors; `kind` is a stable word for logs and metrics."""

    kind = "error"


class Unreachable(OctoPrintError):
    """No answer: connection refused, DNS failure, timeout, or a 5xx from a proxy in front of OctoPrint."""

    kind = "unreachable"


class Unauthorized(OctoPrintError):
    """401/403: OctoPrint refuses the API key (or the key's user may not do this)."""

    kind = "unauthorized"


class NotFound(OctoPrintError):
    """404: no such file (or endpoint)."""

    kind = "not_found"


class Refused(OctoPrintError):
    """Another 4xx, with OctoPrint's reason (409 "Printer is not operational", 400 bad command...)."""

    kind = "refused"

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class BadAnswer(OctoPrintError):
    """An answer that is not the JSON object OctoPrint sends (a proxy's HTML page, garbage, truncated)."""

    kind = "bad_answer"


def node_limiter(concurrency: int = DEFAULT_NODE_CONCURRENCY) -> asyncio.Semaphore:
    """The per-node bound on OctoPrint requests in flight, shared by every client the node makes."""
    return asyncio.Semaphore(concurrency)


def _file_path(name: str) -> str:
    """A local file's resource; the name percent-encoded ("my part #2.gcode"), its folders kept."""
    return "/api/files/local/" + quote(name, safe="/")


def _reason(response: httpx.Response) -> str:
    """OctoPrint's own error text ({"error": "..."}), else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    return response.text[:200].strip() or response.reason_phrase


class OctoPrintClient:
    """Calls one OctoPrint server at `url` with `api_key`."""

    def __init__(
        self,
        url: str,
        api_key: str,
        limiter: asyncio.Semaphore,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._limiter = limiter
        self._http = httpx.AsyncClient(
            base_url=self.url,
            headers={"X-Api-Key": api_key, "Accept": "application/json"},
            timeout=httpx.Timeout(timeout),
            # one connection kept alive: a connection polls one request at a time, plus a command now and then
            limits=httpx.Limits(max_connections=2, max_keepalive_connections=1),
            follow_redirects=False,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"OctoPrintClient({self.url!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- the calls a connection makes --------------------------------------------------------------

    async def job(self) -> dict[str, Any]:
        """GET /api/job: state, selected file, progress."""
        return self._object(await self._request("GET", "/api/job"), "/api/job")

    async def printer(self) -> dict[str, Any] | None:
        """GET /api/printer (state flags only); None on its 409 "Printer is not operational"."""
        try:
            response = await self._request("GET", "/api/printer", params={"exclude": "temperature,sd"})
        except Refused as exc:
            if exc.status == 409:
                return None
            raise
        return self._object(response, "/api/printer")

    async def file_info(self, name: str) -> dict[str, Any] | None:
        """GET /api/files/local/NAME (analysis, print counts); None if there is no such file."""
        path = _file_path(name)
        try:
            return self._object(await self._request("GET", path), path)
        except NotFound:
            return None

    async def print_file(self, name: str) -> None:
        """Select local file `name` and start printing it. NotFound if it does not exist; Refused (409) if the
        printer is not operational or already printing."""
        await self._request("POST", _file_path(name), json={"command": "select", "print": True})

    async def pause(self) -> None:
        await self._request("POST", "/api/job", json={"command": "pause", "action": "pause"})

    async def resume(self) -> None:
        await self._request("POST", "/api/job", json={"command": "pause", "action": "resume"})

    async def cancel(self) -> None:
        await self._request("POST", "/api/job", json={"command": "cancel"})

    # --- one request, its errors typed ---------------------------------------------------------------

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with self._limiter:
            try:
                response = await self._http.request(method, path, **kwargs)
            except httpx.TimeoutException as exc:
                why = f"no answer within the timeout ({type(exc).__name__})"
                raise Unreachable(f"{method} {path}: {why}") from exc
            except httpx.HTTPError as exc:  # connect errors, resets, protocol errors
                raise Unreachable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status < 300:
            return response
        reason = _reason(response)
        if status in (401, 403):
            raise Unauthorized(f"{method} {path}: {status}: OctoPrint refused the API key ({reason})")
        if status == 404:
            raise NotFound(f"{method} {path}: 404: {reason}")
        if status >= 500:
            raise Unreachable(f"{method} {path}: {status}: {reason}")
        raise Refused(f"{method} {path}: {status}: {reason}", status)

    @staticmethod
    def _object(response: httpx.Response, path: str) -> dict[str, Any]:
        try:
            body = json.loads(response.content)
        except ValueError as exc:
            raise BadAnswer(f"{path}: the answer is not JSON: {response.text[:80]!r}") from exc
        if not isinstance(body, dict):
            raise BadAnswer(f"{path}: the answer is JSON but not an object: {type(body).__name__}")
        return body
