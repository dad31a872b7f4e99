"""The vocabulary shared by the consensus core, its storage and the runtime.

Every value here is immutable and plain so that it can cross the persist/send/apply boundary safely.
Encoding lives in raft/codec.py and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class EntryKind(IntEnum):
    NORMAL = 0  # application command (empty data: the leader's no-op at the start of its term)
    CONF_CHANGE = 1  # data is an encoded ConfChange


@dataclass(frozen=True, slots=True)
class Entry:
    term: int
    index: int
    kind: EntryKind = EntryKind.NORMAL
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class HardState:
    """What a node must remember across a crash before it may answer votes or appends (Raft §5.1, fig. 2)."""

    term: int = 0
    vote: str | None = None
    commit: int = 0


class ConfChangeKind(IntEnum):
    ADD_LEARNER = 0
    PROMOTE = 1
    REMOVE = 2


@dataclass(frozen=True, slots=True)
class ConfChange:
    kind: ConfChangeKind
    node_id: str
    addr: str = ""
    incarnation: str = ""  # the node's data dir as it reported it ("" = not known yet)


@dataclass(frozen=True, slots=True)
class Member:
    node_id: str
    addr: str
    voter: bool
    # The random id of the data dir this member's votes and acks come from ("" = not recorded: a learner
    # before promotion, or a configuration written before incarnations existed). See raft/incarnation.py.
    incarnation: str = ""


@dataclass(frozen=True, slots=True)
class Membership:
    """The cluster configuration; it takes effect when appended, not when committed (thesis §4.1)."""

    members: tuple[Member, ...] = ()

    def get(self, node_id: str) -> Member | None:
        for member in self.members:
            if member.node_id == node_id:
                return member
        return None

    @property
    def voters(self) -> frozenset[str]:
        return frozenset(m.node_id for m in self.members if m.voter)

    @property
    def learners(self) -> frozenset[str]:
        return frozenset(m.node_id for m in self.members if not m.voter)

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(m.node_id for m in self.members)

    def apply(self, change: ConfChange) -> Membership:
        others = tuple(m for m in self.members if m.node_id != change.node_id)
        current = self.get(change.node_id)
        if change.kind is ConfChangeKind.ADD_LEARNER:
            if current is not None:
                addr = change.addr or current.addr
                incarnation = change.incarnation or current.incarnation
                return Membership(others + (Member(change.node_id, addr, current.voter, incarnation),))
            member = Member(change.node_id, change.addr, False, change.incarnation)
            return Membership(self.members + (member,))
        if change.kind is ConfChangeKind.PROMOTE:
            if current is None:
                return self
            addr = change.addr or current.addr
            incarnation = change.incarnation or current.incarnation
            return Membership(others + (Member(current.node_id, addr, True, incarnation),))
        return Membership(others)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The application's state at `index`, with the configuration in force there."""

    index: int
    term: int
    membership: Membership
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class RecoveredState:
    """What storage hands the core on start: it resumes exactly from here."""

    hard_state: HardState = field(default_factory=HardState)
    snapshot: Snapshot | None = None
    entries: tuple[Entry, ...] = ()  # every entry after the snapshot, in index order
