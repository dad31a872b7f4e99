"""A repeated Idempotency-Key header is refused (it used to be taken as one key joined by a comma)."""

from __future__ import annotations

import json

from httpapi.app import create_app
from tests.httpapi import raw_asgi
from tests.httpapi.fake_bridge import FakeBridge
from tests.support.seed import PRINTER

BODY = json.dumps(PRINTER).encode()
JSON = (b"content-type", b"application/json")


def test_a_repeated_idempotency_key_is_invalid_field() -> None:
    bridge = FakeBridge()
    app = create_app(bridge)
    headers = [JSON, (b"idempotency-key", b"a"), (b"idempotency-key", b"b")]
    exchange = raw_asgi.call(app, "POST", "/api/v1/printers", headers, [BODY])
    problem = json.loads(exchange.body)
    assert exchange.status == 422 and problem["code"] == "invalid_field"
    assert problem["field"] == "Idempotency-Key" and "more than once" in problem["detail"]
    assert bridge.writes == []


def test_one_key_with_a_comma_is_still_one_key() -> None:
    bridge = FakeBridge()
    exchange = raw_asgi.call(
        create_app(bridge), "POST", "/api/v1/printers", [JSON, (b"idempotency-key", b"a,b")], [BODY]
    )
    assert exchange.status == 201 and bridge.writes[0][1] == "a,b"
