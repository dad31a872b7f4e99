"""API tokens in the replicated state: SHA-256 hashes of secrets, each with a name and a role.

A secret is made at the node that receives the request and never enters the log, a snapshot or an outcome:
the log holds its hash (hex), so checking a token is one hash and one dict lookup. The cluster is open (no
access control) until BootstrapAcl applies; from then on it always holds at least one admin token.
"""

from __future__ import annotations

import hashlib
from typing import Any

from farm.commands import BootstrapAcl, CreateToken, RevokeToken
from farm.records import iso_ms
from farm.results import Applied, Ok, Rejected
from farm.roles import NODE, ROLES, Needed, allows

SECRET_PREFIX = "pf_"
HASH_HEX_LENGTH = 64


def hash_secret(secret: str) -> str:
    """The hex SHA-256 of a secret: what the state keeps. A secret is 256 random bits, so a plain hash is
    enough (no salt or slow hash: nobody can guess 2**256 inputs)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Token:
    __slots__ = ("created_at", "id", "name", "role", "token_hash")

    def __init__(self, id: str, name: str, role: str, token_hash: str, created_at: str) -> None:
        self.id = id
        self.name = name
        self.role = role
        self.token_hash = token_hash
        self.created_at = created_at

    def to_dict(self) -> dict[str, Any]:
        """What GET /api/v1/tokens shows: never the hash."""
        return {"id": self.id, "name": self.name, "role": self.role, "created_at": self.created_at}


class TokenTable:
    __slots__ = ("_by_hash", "admins", "bootstrapped", "by_id")

    def __init__(self) -> None:
        self.bootstrapped = False
        self.by_id: dict[str, Token] = {}  # in creation order
        self._by_hash: dict[bytes, Token] = {}  # by the raw digest: hexdigest() would double the cost
        self.admins = 0  # invariant: the admin tokens in by_id; >= 1 once bootstrapped

    @property
    def open(self) -> bool:
        """No access control yet: every request is allowed."""
        return not self.bootstrapped

    def role_of(self, secret: str) -> str | None:
        """The role of the token whose secret this is, or None for an unknown or revoked one."""
        token = self._by_hash.get(hashlib.sha256(secret.encode()).digest())
        return None if token is None else token.role

    def add(self, token: Token) -> None:
        self.by_id[token.id] = token
        self._by_hash[bytes.fromhex(token.token_hash)] = token
        if token.role == "admin":
            self.admins += 1

    def remove(self, token_id: str) -> None:
        token = self.by_id.pop(token_id)
        del self._by_hash[bytes.fromhex(token.token_hash)]
        if token.role == "admin":
            self.admins -= 1

    def holds_hash(self, token_hash: str) -> bool:
        return bytes.fromhex(token_hash) in self._by_hash

    def listing(self) -> list[dict[str, Any]]:
        return [token.to_dict() for token in self.by_id.values()]

    def to_obj(self) -> list[Any]:
        return [
            self.bootstrapped,
            [[t.id, t.name, t.role, t.token_hash, t.created_at] for t in self.by_id.values()],
        ]

    def load(self, obj: Any) -> None:
        """Fill an empty table from to_obj()'s output; raises ValueError on anything it could not be."""
        bootstrapped, tokens = obj
        if type(bootstrapped) is not bool or type(tokens) not in (list, tuple):  # a snapshot may read tuples
            raise ValueError("tokens: expected [bootstrapped, [token, ...]]")
        for fields in tokens:
            token = Token(*fields)
            if token.role not in ROLES or token.id in self.by_id or self.holds_hash(token.token_hash):
                raise ValueError(f"token {token.id!r}: unknown role or held twice")
            self.add(token)
        self.bootstrapped = bootstrapped
        if bootstrapped != (self.admins > 0):
            raise ValueError("tokens: a bootstrapped cluster holds an admin token, an open one no token")


def bootstrap_acl(store: Any, command: BootstrapAcl, index: int, at_ms: int) -> Applied:
    table: TokenTable = store.tokens
    if table.bootstrapped:
        return Applied(
            Rejected(
                "already_bootstrapped",
                "access control is already on: an admin creates tokens with POST /api/v1/tokens",
            )
        )
    applied = _create(table, command.token_id, command.name, "admin", command.token_hash, at_ms)
    if isinstance(applied.outcome, Ok):
        table.bootstrapped = True
    return applied


def create_token(store: Any, command: CreateToken, index: int, at_ms: int) -> Applied:
    table: TokenTable = store.tokens
    if not table.bootstrapped:
        return Applied(
            Rejected(
                "not_bootstrapped",
                "access control is off: bootstrap it first with POST /api/v1/acl/bootstrap",
            )
        )
    return _create(table, command.token_id, command.name, command.role, command.token_hash, at_ms)


def revoke_token(store: Any, command: RevokeToken, index: int, at_ms: int) -> Applied:
    table: TokenTable = store.tokens
    token = table.by_id.get(command.token_id)
    if token is None:
        return Applied(Rejected("not_found", f"token {command.token_id} does not exist", "token_id"))
    if token.role == "admin" and table.admins == 1:
        return Applied(
            Rejected(
                "last_admin",
                f"token {command.token_id} is the last admin token; create another admin token first",
            )
        )
    table.remove(command.token_id)
    return Applied(Ok(None))  # no event: who holds which token is not for every viewer to see


def _create(table: TokenTable, token_id: str, name: str, role: str, token_hash: str, at_ms: int) -> Applied:
    if token_id in table.by_id:
        return Applied(Rejected("already_exists", f"token {token_id} already exists", "token_id"))
    if table.holds_hash(token_hash):
        # two secrets of 256 random bits never collide; a proposer that repeats a hash is broken
        return Applied(Rejected("already_exists", "a token with this secret already exists", "token"))
    token = Token(token_id, name, role, token_hash, iso_ms(at_ms))
    table.add(token)
    return Applied(Ok(token.to_dict()))


def authorize(table: TokenTable, role: str | None, needed: Needed | None) -> Rejected | None:
    """The leader's check of a command or cluster call made for a caller with `role` (None: no token):
    None if allowed. An open cluster allows everything."""
    if table.open or allows(role, needed):
        return None
    if role is None:
        return Rejected(
            "unauthenticated", "This cluster requires a token: send Authorization: Bearer <token>."
        )
    if needed == NODE:
        return Rejected(
            "forbidden", "Only a node's own printer connections report this; no token may send it."
        )
    return Rejected("forbidden", f"A {role} token may not do this; it needs the {needed} role.")
