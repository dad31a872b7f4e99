"""Shaping outcomes into responses: JSON bodies, pages with X-Total-Count, Location for created objects."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import falcon
import falcon.asgi

from farm.results import Ok, Outcome, Page
from farm.views import RecordsView
from httpapi.errors import Problem, rejected
from httpapi.full_lists import PERMITS, RETRY_AFTER_SECONDS, SLICE, FullListBody
from httpapi.jsonio import dumps

JSON = falcon.MEDIA_JSON
_URL_SAFE = re.compile(r"[A-Za-z0-9_.~-]+")  # RFC 3986 unreserved: the usual id needs no quoting


def value_of(outcome: Outcome) -> Any:
    if type(outcome) is Ok:
        return outcome.value
    raise rejected(outcome)  # type: ignore[arg-type]


def send_json(resp: falcon.asgi.Response, value: Any, status: int = 200) -> None:
    resp.status = status
    resp.content_type = JSON
    resp.data = dumps(value)


def send_outcome(resp: falcon.asgi.Response, outcome: Outcome) -> None:
    send_json(resp, value_of(outcome))


def send_page(resp: falcon.asgi.Response, outcome: Outcome) -> None:
    page: Page = value_of(outcome)
    items = page.items
    if isinstance(items, RecordsView) and len(items) > SLICE:
        if not PERMITS.try_take():
            raise Problem(
                "too_many_full_lists",
                f"This node is already streaming {PERMITS.limit} lists without a limit; retry shortly, or "
                "page with limit and offset.",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        resp.set_header("X-Total-Count", str(page.total))
        resp.content_type = JSON
        resp.stream = FullListBody(items, PERMITS)
        return
    resp.set_header("X-Total-Count", str(page.total))
    send_json(resp, items if type(items) is list else list(items))


def send_created(resp: falcon.asgi.Response, outcome: Outcome, collection: str, object_id: str) -> None:
    value = value_of(outcome)
    segment = object_id if _URL_SAFE.fullmatch(object_id) else quote(object_id, safe="")
    resp.set_header("Location", f"{collection}/{segment}")
    send_json(resp, value, 201)


def send_no_content(resp: falcon.asgi.Response, outcome: Outcome) -> None:
    value_of(outcome)
    resp.status = 204
