"""What the core asks the outside world to do, in order: persist, send, apply (see RaftNode.ready)."""

from __future__ import annotations

from dataclasses import dataclass, field

from raft.messages import Message
from raft.types import Entry, HardState, Snapshot


@dataclass(frozen=True, slots=True)
class ReadState:
    """Serve the read identified by `ctx` once the state machine has applied `index`."""

    index: int
    ctx: bytes


@dataclass(slots=True)
class Ready:
    hard_state: HardState | None = None  # persist if not None (it changed)
    snapshot: Snapshot | None = None  # from the leader: persist it (it replaces the whole log), then restore
    entries: list[Entry] = field(default_factory=list)  # persist; truncate from entries[0].index first
    messages: list[Message] = field(default_factory=list)  # may leave at once
    persisted_messages: list[Message] = field(default_factory=list)  # only once the above is durable
    committed_entries: list[Entry] = field(default_factory=list)  # apply in order, after persisting
    read_states: list[ReadState] = field(default_factory=list)  # serve once applied >= index

    def __bool__(self) -> bool:
        return bool(
            self.hard_state
            or self.snapshot
            or self.entries
            or self.messages
            or self.persisted_messages
            or self.committed_entries
            or self.read_states
        )
