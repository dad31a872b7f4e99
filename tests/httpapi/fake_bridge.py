"""A Bridge for HTTP-layer tests: applies commands to a real farm.state.FarmState in memory, one index each.

Tokens work as on a node: the HTTP layer authenticates against the fake's farm, and every write and cluster
call is authorized again as the leader does, with the caller's role (httpapi.bridge.CALLER_ROLE).
Knobs: `failure` (a BridgeError every write, linearizable read and cluster call raises), `role`, `ready`,
`live_events` (a stream waits for new events, not ending after the backlog). It records all it is asked.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from actors.event_fanout import EventFanout
from farm.codec import encode_command, encode_proposal
from farm.commands import Command
from farm.queries import Query
from farm.results import Event, Ok, Outcome, Rejected
from farm.roles import Role, command_role
from farm.state import FarmState
from farm.tokens import TokenTable, authorize
from httpapi.bridge import (
    CALLER_ROLE,
    BridgeError,
    Consistency,
    EventStream,
    MemberInfo,
    PendingChange,
    RaftRole,
    RaftStatus,
)

START_MS = 1_700_000_000_000


class FakeBridge:
    def __init__(self) -> None:
        self.state = FarmState()
        self.index = 0
        self.clock_ms = START_MS
        self.failure: BridgeError | None = None
        self.role: RaftRole = "Leader"
        self.ready = True
        self.live_events = False
        self.members: dict[str, str] = {"node1": "127.0.0.1:9001"}
        self.pending_change: PendingChange | None = None
        self.published: list[Event] = []
        self.writes: list[tuple[Command, str | None]] = []
        self.reads: list[tuple[Query, str]] = []
        self.observed: list[tuple[str, str, int, float]] = []
        self.event_subscriptions: list[int] = []
        self._registry = CollectorRegistry()
        self._requests = Counter(
            "printfarm_fake_requests", "Requests seen by the fake", registry=self._registry
        )
        self.fanout = EventFanout()  # the node's own fan-out, so the HTTP tests exercise it too

    def _check(self) -> None:
        if self.failure is not None:
            raise self.failure

    def _authorize(self, needed: Role | None) -> Rejected | None:
        """As the leader does: by the caller's role the HTTP layer set (httpapi/access.py)."""
        return authorize(self.state.tokens(), CALLER_ROLE.get(), needed)

    async def write(self, command: Command, idempotency_key: str | None = None) -> Outcome:
        self.writes.append((command, idempotency_key))
        self._check()
        refusal = self._authorize(command_role(type(command)))
        if refusal is not None:
            return refusal
        self.index += 1
        self.clock_ms += 1000
        applied = self.state.apply(
            self.index, encode_proposal(encode_command(command), self.clock_ms, idempotency_key)
        )
        self.publish(*applied.events)
        return applied.outcome

    async def read(self, query: Query, consistency: Consistency = "linearizable") -> Outcome:
        self.reads.append((query, consistency))
        if consistency != "stale":
            self._check()
        return self.state.query(query)

    async def join(self, node_id: str, addr: str) -> Outcome:
        self._check()
        if refusal := self._authorize("admin"):
            return refusal
        known = self.members.get(node_id)
        if known is not None and known != addr:
            return Rejected("address_conflict", f"{node_id} is a member at {known}")
        if any(other != node_id and at == addr for other, at in self.members.items()):
            return Rejected("address_conflict", f"{addr} is another member's address")
        if self.pending_change is not None:
            return Rejected("change_pending", "the change is pending")
        self.members[node_id] = addr
        return Ok(None)

    async def remove_member(self, node_id: str) -> Outcome:
        self._check()
        if refusal := self._authorize("admin"):
            return refusal
        if self.members.pop(node_id, None) is None:
            return Rejected("not_found", f"{node_id} is not a member")
        return Ok(None)

    async def transfer_leadership(self, to: str) -> Outcome:
        self._check()
        if refusal := self._authorize("admin"):
            return refusal
        if to not in self.members:
            return Rejected("not_found", f"{to} is not a member")
        return Ok(None)

    def raft_state(self) -> RaftRole:
        return self.role

    def raft_status(self) -> RaftStatus:
        members = tuple(MemberInfo(node_id, addr, "voter") for node_id, addr in sorted(self.members.items()))
        leader = "node1" if self.role == "Leader" else None
        return RaftStatus(
            "node1", self.role, 3, leader, self.index, self.index, members, self.pending_change
        )

    def is_ready(self) -> bool:
        return self.ready

    async def caught_up(self) -> bool:
        return self.ready

    def metrics(self) -> tuple[bytes, str]:
        self._requests.inc()
        return generate_latest(self._registry), CONTENT_TYPE_LATEST

    def publish(self, *events: Event) -> None:
        self.published.extend(events)
        for event in events:
            self.fanout.publish(event)
        self.fanout.flush()

    async def open_events(self, after_index: int) -> EventStream:
        self.event_subscriptions.append(after_index)
        stream = self.fanout.subscribe(after_index)
        return stream if self.live_events else _EndsWhenQuiet(stream)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.observed.append((method, route, status, seconds))

    def tokens(self) -> TokenTable:
        return self.state.tokens()


class _EndsWhenQuiet:
    """A stream that ends once it has handed out its backlog, as a node's does when it drops a consumer."""

    def __init__(self, stream: EventStream) -> None:
        self._stream = stream

    async def read(self, timeout: float) -> bytes | None:
        return await self._stream.read(min(timeout, 0.01)) or b""

    def close(self) -> None:
        self._stream.close()


def problem_of(result: Any) -> dict[str, Any]:
    """The problem body of a falcon.testing result, after checking the rules every problem follows."""
    assert result.headers["content-type"] == "application/problem+json", result.headers
    body = result.json
    assert set(body) >= {"type", "title", "status", "detail", "code"}, body
    assert body["status"] == result.status_code
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["title"], str) and body["title"]
    assert body["type"] == f"urn:printfarm:problem:{body['code']}"
    if body["code"] == "invalid_field":
        assert body["field"] and body["field"] in body["detail"], body
    return body
