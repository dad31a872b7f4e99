"""Who may do what: authentication and authorization of every request, in one middleware.

The cluster is open until its ACL is bootstrapped (shared/API.md, "Access control"); from the moment the
bootstrap entry is applied on this node every request except /healthz and /readyz needs a bearer token, and
the route table below says which role each route needs. The caller's role travels with the request to the
bridge (CALLER_ROLE), which forwards it to the leader; the leader authorizes the command again the same way.

Nothing here logs, counts or echoes a secret: problems say what was wrong with a header, never its value.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import falcon.asgi

from farm.roles import Role, allows
from httpapi.bridge import CALLER_ROLE, Bridge
from httpapi.dashboard import is_dashboard_path
from httpapi.errors import Problem

ALWAYS_OPEN = frozenset({"/healthz", "/readyz"})
BOOTSTRAP_PATH = "/api/v1/acl/bootstrap"
_READS = frozenset({"GET", "HEAD"})
# Writes to these collections (and anything under them) are the operators'; every other write is an admin's.
_OPERATOR_PREFIXES = ("/api/v1/printers", "/api/v1/filaments", "/api/v1/print_jobs")
# Routes whose role the rule above would get wrong: reading tokens is an admin's business.
ROUTE_ROLES: dict[tuple[str, str], Role] = {
    ("GET", "/api/v1/tokens"): "admin",
    ("HEAD", "/api/v1/tokens"): "admin",
}
MAX_TOKEN_CHARS = 256
_QUERY_TOKEN_NAMES = frozenset({"access_token", "token", "api_key"})


def required_role(method: str, template: str) -> Role:
    """The least role that may call `method` on the route `template` once the cluster is bootstrapped."""
    listed = ROUTE_ROLES.get((method, template))
    if listed is not None:
        return listed
    if method in _READS:
        return "viewer"
    if template.startswith(_OPERATOR_PREFIXES):
        return "operator"
    return "admin"


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


@dataclass(frozen=True, slots=True)
class AccessOptions:
    """`listen_host`: where the HTTP server listens (protected mode applies beyond loopback); `serve_open`:
    the node's --open (serve an open cluster to anyone on purpose); `on_refusal(reason)`: counts refusals."""

    listen_host: str = "127.0.0.1"
    serve_open: bool = False
    on_refusal: Callable[[str], None] = lambda reason: None

    @property
    def protected(self) -> bool:
        return not self.serve_open and not is_loopback(self.listen_host)


def unauthenticated(detail: str) -> Problem:
    return Problem("unauthenticated", detail, headers={"WWW-Authenticate": "Bearer"})


def bearer_secret(header: str | None) -> str:
    """The secret of the one `Authorization: Bearer <token>` header; 401 for anything else. The scheme is
    case-insensitive and spaces around the token are allowed (RFC 9110 §11.4). Several Authorization
    headers reach us joined by commas (falcon joins repeated headers), and no token holds a comma."""
    if header is None:
        raise unauthenticated("This cluster requires a token: send Authorization: Bearer <token>.")
    if "," in header:
        raise unauthenticated("Send exactly one Authorization header with one bearer token.")
    scheme, _, rest = header.strip(" \t").partition(" ")
    secret = rest.strip(" \t")
    if scheme.lower() != "bearer" or not secret:
        raise unauthenticated("The Authorization header must be: Bearer <token>.")
    if len(secret) > MAX_TOKEN_CHARS or not secret.isascii() or not secret.isprintable() or " " in secret:
        raise unauthenticated("The bearer token is malformed.")
    return secret


class AccessMiddleware:
    def __init__(self, bridge: Bridge, options: AccessOptions) -> None:
        self._tokens = bridge.tokens
        self._protected = options.protected
        self._refused = options.on_refusal

    def _refuse(self, reason: str, problem: Problem) -> Problem:
        self._refused(reason)
        return problem

    async def process_request(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        req.context.checked = False
        CALLER_ROLE.set(None)  # whatever context this task inherited, its caller has proved nothing yet
        path = req.path
        if path in ALWAYS_OPEN or (req.method in _READS and is_dashboard_path(path)):
            return  # the dashboard's page and files hold no data: it asks for a token itself
        if req.query_string and _token_in_query(req):
            raise self._refuse(
                "token_in_query",
                unauthenticated("A token in the URL is refused (URLs end up in logs): send it in an "
                                "Authorization: Bearer header."),
            )  # fmt: skip
        table = self._tokens()
        if table.open:
            if self._protected and not is_loopback(client_host(req)):
                raise self._refuse(
                    "protected_mode",
                    Problem(
                        "protected_mode",
                        "This node serves an open cluster (no access control) and only to loopback clients. "
                        "Bootstrap access control from this machine (POST /api/v1/acl/bootstrap, or "
                        "python cli.py acl bootstrap) or start the node with --open to serve an open cluster "
                        "on purpose.",
                    ),
                )
            return
        if path == BOOTSTRAP_PATH:
            return  # its resource answers 409 already_bootstrapped to anyone
        try:
            secret = bearer_secret(req.get_header("Authorization"))
        except Problem as problem:
            raise self._refuse("unauthenticated", problem) from None
        role = table.role_of(secret)
        if role is None:
            raise self._refuse("unauthenticated", unauthenticated("The token is unknown or was revoked."))
        req.context.role = role
        req.context.checked = True
        CALLER_ROLE.set(role)

    async def process_resource(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        if not req.context.checked:
            return  # open cluster, or an always-open route
        needed = required_role(req.method, req.uri_template or "")
        if not allows(req.context.role, needed):
            raise self._refuse(
                "forbidden",
                Problem(
                    "forbidden",
                    f"A {req.context.role} token may not {req.method} {req.uri_template}; "
                    f"it needs the {needed} role.",
                ),
            )


def client_host(req: falcon.asgi.Request) -> str | None:
    """The peer address of the connection (never a Forwarded header: nothing proxies us, and a client could
    claim to be 127.0.0.1 in one); None when the server gave none."""
    context = req.context
    if "client_host" not in context:
        client = req.scope.get("client")
        context.client_host = next(iter(client), None) if client else None  # any iterable, per ASGI tests
    return context.client_host


def _token_in_query(req: falcon.asgi.Request) -> bool:
    query = req.query_string.lower()
    if "token" not in query and "api_key" not in query:
        return False
    return any(name.lower() in _QUERY_TOKEN_NAMES for name in req.params)
