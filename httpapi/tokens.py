"""Access control's endpoints: the one-time bootstrap and the admins' tokens.

A token's secret is made here, at the node that received the request, from 256 random bits; only its SHA-256
hash goes into the command (and so into the log and every node's state). The secret appears once, in the 201
answer, which no cache may keep.
"""

from __future__ import annotations

import secrets

import falcon.asgi

from farm.commands import BootstrapAcl, CreateToken, RevokeToken
from farm.queries import ListTokens
from farm.roles import ROLES
from farm.tokens import SECRET_PREFIX, hash_secret
from httpapi import validation as v
from httpapi.access import client_host, is_loopback
from httpapi.bridge import Bridge
from httpapi.errors import Problem, invalid
from httpapi.responses import send_json, send_no_content, send_page, value_of

SECRET_BYTES = 32  # 256 bits
COLLECTION = "/api/v1/tokens"
BOOTSTRAP_NAME = "bootstrap"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def new_token_id() -> str:
    return "tok-" + secrets.token_hex(8)


def _send_secret(resp: falcon.asgi.Response, value: dict, secret: str) -> None:
    resp.set_header("Location", f"{COLLECTION}/{value['id']}")
    resp.set_header("Cache-Control", "no-store")
    send_json(resp, {**value, "token": secret}, 201)


class BootstrapResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        if not self._bridge.tokens().open:
            raise Problem("already_bootstrapped", "Access control is already on for this cluster.")
        if not is_loopback(client_host(req)):
            raise Problem(
                "forbidden", "The cluster's access control can be bootstrapped only from a loopback client."
            )
        body = await v.read_object(req, optional=True)
        name = v.id_field(body, "name") if "name" in body else BOOTSTRAP_NAME
        secret = new_secret()
        command = BootstrapAcl(new_token_id(), name, hash_secret(secret))
        _send_secret(resp, value_of(await self._bridge.write(command)), secret)


class TokensResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        send_page(resp, await self._bridge.read(ListTokens(), v.consistency(req.params)))

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        body = await v.read_object(req)
        name = v.id_field(body, "name")
        role = body.get("role")
        if role not in ROLES:
            raise invalid("role", f"role is required, one of {', '.join(ROLES)}.")
        secret = new_secret()
        command = CreateToken(new_token_id(), name, role, hash_secret(secret))
        # no Idempotency-Key: a retry could never answer the first secret, which nobody keeps
        _send_secret(resp, value_of(await self._bridge.write(command)), secret)


class TokenResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_delete(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, token_id: str) -> None:
        key = v.idempotency_key(req)
        v.path_id_exists_or_404(token_id, "token")
        send_no_content(resp, await self._bridge.write(RevokeToken(token_id), key))
