"""What the HTTP layer needs from a node, declared here so httpapi/ never imports actors/.

actors/node.py hands a real HttpBridgeActor to create_app(); tests hand a fake.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal, Protocol

from farm.commands import Command
from farm.queries import Query
from farm.results import Outcome
from farm.roles import NODE
from farm.tokens import TokenTable

Consistency = Literal["linearizable", "stale"]
RaftRole = Literal["Leader", "Follower", "Candidate"]
ChangeKind = Literal["add_learner", "promote", "remove"]

# The role of the HTTP caller whose request this task serves (httpapi/access.py sets it; None on an open
# cluster). A bridge hands it to the leader with every write and cluster call, and the leader authorizes the
# command with it. Outside a request (the node's own actors) it is NODE, trusted.
CALLER_ROLE: ContextVar[str | None] = ContextVar("printfarm_caller_role", default=NODE)


class BridgeError(Exception):
    """Base of the errors a bridge raises; the HTTP layer maps each to a problem+json response."""


class NoLeader(BridgeError):
    """No leader became known within the request timeout (503, Retry-After)."""


class RequestTimeout(BridgeError):
    """The request was accepted but its outcome is unknown within the timeout (504): it may still apply."""


class NodeStopping(BridgeError):
    """The node is shutting down (503)."""


class TooManyStreams(BridgeError):
    """This node already serves its maximum of event streams (503 too_many_streams, Retry-After)."""

    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(f"this node already serves {limit} event streams")
        self.limit = limit
        self.retry_after = retry_after


class EventStream(Protocol):
    """One subscriber's stream of encoded SSE frames (httpapi/sse.py)."""

    async def read(self, timeout: float) -> bytes | None:
        """The next frames, whole; None if nothing new came within `timeout` s; b"" once it ended."""
        ...

    def close(self) -> None:
        """The consumer is gone."""
        ...


@dataclass(frozen=True, slots=True)
class MemberInfo:
    node_id: str
    addr: str
    role: Literal["voter", "learner"]


@dataclass(frozen=True, slots=True)
class PendingChange:
    """A membership change appended to the log but not yet committed (it takes effect if it commits)."""

    index: int
    kind: ChangeKind
    node_id: str
    addr: str


@dataclass(frozen=True, slots=True)
class RaftStatus:
    node_id: str
    state: RaftRole
    term: int
    leader_id: str | None
    commit_index: int
    applied_index: int
    members: tuple[MemberInfo, ...]
    pending_change: PendingChange | None = None


class Bridge(Protocol):
    async def write(self, command: Command, idempotency_key: str | None = None) -> Outcome:
        """Replicate `command`, wait until it is applied, and return its outcome."""
        ...

    async def read(self, query: Query, consistency: Consistency = "linearizable") -> Outcome:
        """Answer `query` from this node's copy, after ReadIndex unless consistency is "stale"."""
        ...

    async def join(self, node_id: str, addr: str) -> Outcome:
        """Add a node (as a learner that is promoted once caught up); a no-op if already a member."""
        ...

    async def remove_member(self, node_id: str) -> Outcome:
        ...

    async def transfer_leadership(self, to: str) -> Outcome:
        ...

    def raft_state(self) -> RaftRole:
        ...

    def raft_status(self) -> RaftStatus:
        ...

    def is_ready(self) -> bool:
        """Knows a leader and has applied everything it knows to be committed."""
        ...

    async def caught_up(self) -> bool:
        """is_ready(), and applied what the leader had committed when asked (within a small lag)."""
        ...

    def metrics(self) -> tuple[bytes, str]:
        """Prometheus exposition body and its content type."""
        ...

    async def open_events(self, after_index: int) -> EventStream:
        """Every applied change after `after_index`, then live ones; ends with a final frame if the consumer
        falls behind. Raises TooManyStreams at the node's cap."""
        ...

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one HTTP request for the latency histogram."""
        ...

    def tokens(self) -> TokenTable:
        """The API tokens as this node has applied them (read-only)."""
        ...



