"""`Client`: printfarm's HTTP API for Python scripts, the command-line client and the tests.

    from client import Client, ApiError, Unreachable

    farm = Client("http://127.0.0.1:8081,http://127.0.0.1:8082", token=None)
    farm.create_printer("p1", company="Prusa", model="MK4")
    farm.create_filament("f1", type="PLA", color="Black", total=1000)
    farm.create_job("j1", printer="p1", filament="f1", weight=120, details="benchy")
    farm.set_job_status("j1", "Running")
    try:
        farm.set_job_status("j1", "Queued")
    except ApiError as error:                 # the cluster refused: nothing was applied
        print(error.status, error.code, error.detail)   # 409 invalid_transition job j1 is Running; ...
    for event in farm.events(after=0):        # follows the stream, resuming after a drop
        print(event.index, event.type, event.data)

How it behaves:
- `urls` (a list, or one comma-separated string) are tried in order; a node that cannot be reached is skipped
  and the next one asked. The node that last answered is asked first next time.
- Every write (POST, PUT, PATCH, DELETE) carries an `Idempotency-Key`; a write that meets a connection error,
  a timeout, or a 502/503/504 answer is sent again (to the next node, then after a short back-off) with the
  same key, so it applies once. Reads are retried the same way. Retries stop after `retry_for` seconds.
- Errors are typed: `ApiError` (status, code, type, title, detail, field: the problem+json body) when a node
  answers 4xx, or 5xx after the retries; `Unreachable` when no node answered at all.
- Every method returns the API's JSON answer as parsed (None for 204); `last_response` keeps the raw
  `httpx.Response` of the last call for tools that print it verbatim.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from client.errors import ApiError, ClientError, Unreachable
from client.urls import DEFAULT_URL, parse_urls

_RETRY_STATUSES = frozenset({502, 503, 504})
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class Event:
    """One Server-Sent Event of GET /api/v1/events: `index`, `type`, `data` from its JSON envelope."""

    index: int
    type: str
    data: Any
    id: str | None  # the SSE id: only the last event of a log index carries it
    raw: str  # the `data:` line as the node sent it


def _segment(value: str) -> str:
    return quote(value, safe="")


class Client:
    def __init__(
        self,
        urls: str | Sequence[str] = DEFAULT_URL,
        token: str | None = None,
        *,
        consistency: str | None = None,
        timeout: float = 10.0,
        retry_for: float = 8.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`consistency="stale"` makes every read answer from the asked node's own copy."""
        self.urls = parse_urls(urls)
        self.token = token or None
        self.consistency = consistency
        self.retry_for = retry_for
        self.last_response: httpx.Response | None = None
        self._preferred = 0
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self._http = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=2.0),
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- the one request path ----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        read: bool = False,
    ) -> Any:
        """Send one request (retried as the module says) and return its parsed JSON (None when empty).

        `read=True` marks a GET whose consistency the client's setting may relax.
        """
        params = {key: value for key, value in (params or {}).items() if value is not None}
        if read and self.consistency:
            params.setdefault("consistency", self.consistency)
        headers = {}
        if method in _WRITES:
            headers["Idempotency-Key"] = uuid.uuid4().hex  # one key for every retry of this write
        response = self._send(method, path, params, body, headers)
        self.last_response = response
        if response.status_code >= 400:
            raise ApiError(response.status_code, _problem(response), str(response.request.url))
        if not response.content:
            return None
        if "json" in response.headers.get("content-type", ""):
            try:
                return response.json()
            except ValueError:
                raise ClientError(f"{response.request.url} answered a body that is not JSON") from None
        return response.text

    def _send(
        self, method: str, path: str, params: dict[str, Any], body: Any, headers: dict[str, str]
    ) -> httpx.Response:
        deadline = time.monotonic() + self.retry_for
        backoff = 0.1
        while True:
            last_answer: httpx.Response | None = None
            reason = ""
            for offset in range(len(self.urls)):
                index = (self._preferred + offset) % len(self.urls)
                try:
                    response = self._http.request(
                        method, self.urls[index] + path, params=params, json=body, headers=headers
                    )
                except httpx.TransportError as exc:  # refused, reset, timed out: ask the next node
                    reason = _describe(exc)
                    continue
                self._preferred = index
                if response.status_code not in _RETRY_STATUSES:
                    return response
                last_answer = response  # no leader there (or it stops): another node may have one
            if time.monotonic() + backoff > deadline:
                if last_answer is not None:
                    return last_answer
                raise Unreachable(self.urls, reason)
            time.sleep(backoff)
            backoff = min(backoff * 2, 1.0)

    # --- printers ---------------------------------------------------------------------------------------

    def printers(self) -> list[dict[str, Any]]:
        return self.request("GET", "/api/v1/printers", read=True)

    def printer(self, printer_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v1/printers/{_segment(printer_id)}", read=True)

    def create_printer(self, printer_id: str, company: str, model: str, **fields: Any) -> dict[str, Any]:
        body = {"id": printer_id, "company": company, "model": model, **fields}
        return self.request("POST", "/api/v1/printers", body=body)

    def update_printer(self, printer_id: str, **fields: Any) -> dict[str, Any]:
        return self.request("PATCH", f"/api/v1/printers/{_segment(printer_id)}", body=fields)

    def delete_printer(self, printer_id: str) -> None:
        self.request("DELETE", f"/api/v1/printers/{_segment(printer_id)}")

    # --- filaments --------------------------------------------------------------------------------------

    def filaments(self) -> list[dict[str, Any]]:
        return self.request("GET", "/api/v1/filaments", read=True)

    def filament(self, filament_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v1/filaments/{_segment(filament_id)}", read=True)

    def create_filament(
        self, filament_id: str, type: str, color: str, total: int, remaining: int | None = None, **fields: Any
    ) -> dict[str, Any]:
        body = {
            "id": filament_id,
            "type": type,
            "color": color,
            "total_weight_in_grams": total,
            "remaining_weight_in_grams": total if remaining is None else remaining,
            **fields,
        }
        return self.request("POST", "/api/v1/filaments", body=body)

    def update_filament(self, filament_id: str, **fields: Any) -> dict[str, Any]:
        return self.request("PATCH", f"/api/v1/filaments/{_segment(filament_id)}", body=fields)

    def delete_filament(self, filament_id: str) -> None:
        self.request("DELETE", f"/api/v1/filaments/{_segment(filament_id)}")

    # --- print jobs -------------------------------------------------------------------------------------

    def jobs(
        self, status: str | None = None, printer: str | None = None, filament: str | None = None
    ) -> list[dict[str, Any]]:
        params = {"status": status, "printer_id": printer, "filament_id": filament}
        return self.request("GET", "/api/v1/print_jobs", params=params, read=True)

    def job(self, job_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v1/print_jobs/{_segment(job_id)}", read=True)

    def create_job(
        self, job_id: str, printer: str, filament: str, weight: int, details: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        body = {
            "job_id": job_id,
            "printer_id": printer,
            "filament_id": filament,
            "print_weight_in_grams": weight,
            **fields,
        }
        if details is not None:
            body["details"] = details
        return self.request("POST", "/api/v1/print_jobs", body=body)

    def set_job_status(
        self, job_id: str, status: str, used_grams: int | None = None, reason: str | None = None
    ) -> dict[str, Any]:
        params = {"status": status, "used_grams": used_grams, "reason": reason}
        return self.request("PUT", f"/api/v1/print_jobs/{_segment(job_id)}/status", params=params)

    # --- the farm's workflow (nodes that serve it) -------------------------------------------------------

    def printer_queue(self, printer_id: str) -> list[dict[str, Any]]:
        """The printer's Queued jobs in the order they will run."""
        return self.request("GET", f"/api/v1/printers/{_segment(printer_id)}/queue", read=True)

    def clear_bed(self, printer_id: str) -> None:
        self.request("POST", f"/api/v1/printers/{_segment(printer_id)}/clear-bed")

    def update_job(self, job_id: str, **fields: Any) -> dict[str, Any]:
        """PATCH a Queued job's priority and/or details."""
        return self.request("PATCH", f"/api/v1/print_jobs/{_segment(job_id)}", body=fields)

    def report_progress(
        self, job_id: str, percent: int | None = None, used_grams: int | None = None
    ) -> dict[str, Any]:
        body = {
            key: value
            for key, value in (("percent", percent), ("used_grams", used_grams))
            if value is not None
        }
        return self.request("PUT", f"/api/v1/print_jobs/{_segment(job_id)}/progress", body=body)

    def retry_job(self, job_id: str, new_job_id: str) -> dict[str, Any]:
        return self.request(
            "POST", f"/api/v1/print_jobs/{_segment(job_id)}/retry", body={"job_id": new_job_id}
        )

    def ledger(
        self, filament_id: str, limit: int | None = None, offset: int | None = None
    ) -> list[dict[str, Any]]:
        """Every change of the spool's grams, oldest first."""
        params = {"limit": limit, "offset": offset}
        return self.request(
            "GET", f"/api/v1/filaments/{_segment(filament_id)}/ledger", params=params, read=True
        )

    def stats(self) -> dict[str, Any]:
        return self.request("GET", "/api/v1/stats", read=True)

    # --- the cluster ------------------------------------------------------------------------------------

    def raft_status(self) -> dict[str, Any]:
        return self.request("GET", "/raft/status")

    def join(self, node_id: str, addr: str) -> dict[str, Any]:
        return self.request("POST", "/join", params={"node_id": node_id, "addr": addr})

    def remove_member(self, node_id: str) -> None:
        self.request("DELETE", f"/raft/members/{_segment(node_id)}")

    def transfer_leadership(self, to: str) -> dict[str, Any]:
        return self.request("POST", "/raft/transfer-leadership", params={"to": to})

    # --- events -----------------------------------------------------------------------------------------

    def events(self, after: int | None = None, *, reconnect: bool = True) -> Iterator[Event]:
        """Follow GET /api/v1/events. Without `after`: changes from now on. After a dropped stream it
        reconnects (to the next node if need be) with Last-Event-ID, so no event is skipped."""
        last_id = after
        backoff = 0.1
        while True:
            try:
                for event in self._stream(last_id):
                    backoff = 0.1
                    if event.id is not None:
                        last_id = int(event.id)
                    yield event
            except (httpx.TransportError, Unreachable, ApiError) as exc:
                if isinstance(exc, ApiError) and exc.refused:
                    raise
                if not reconnect:
                    raise
            else:
                if not reconnect:
                    return
            time.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    def _stream(self, last_id: int | None) -> Iterator[Event]:
        headers = {"Accept": "text/event-stream"}
        params = {}
        if last_id is not None:
            params["after"] = last_id
            headers["Last-Event-ID"] = str(last_id)
        reason = "no answer"
        for offset in range(len(self.urls)):
            index = (self._preferred + offset) % len(self.urls)
            url = self.urls[index] + "/api/v1/events"
            try:
                with self._http.stream(
                    "GET", url, params=params, headers=headers, timeout=httpx.Timeout(None, connect=2.0)
                ) as response:
                    if response.status_code >= 400:
                        response.read()
                        raise ApiError(response.status_code, _problem(response), url)
                    self._preferred = index
                    yield from _parse_sse(response.iter_lines())
                    return
            except httpx.ConnectError as exc:
                reason = _describe(exc)
        raise Unreachable(self.urls, reason)


def _parse_sse(lines: Iterator[str]) -> Iterator[Event]:
    """Server-Sent Events: fields up to a blank line; comments (keep-alives) begin with ':'."""
    data: list[str] = []
    event_id: str | None = None
    for line in lines:
        if line == "":
            if data:
                raw = "\n".join(data)
                envelope = json.loads(raw)
                yield Event(envelope["index"], envelope["type"], envelope.get("data"), event_id, raw)
            data, event_id = [], None
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "id":
            event_id = value


def _problem(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _describe(exc: httpx.TransportError) -> str:
    kind = {
        httpx.ConnectError: "connection refused or failed",
        httpx.ConnectTimeout: "connection timed out",
        httpx.ReadTimeout: "no answer in time",
    }.get(type(exc), type(exc).__name__)
    try:
        return f"{kind} ({exc.request.url})"
    except RuntimeError:  # raised by httpx when the error carries no request
        return kind
