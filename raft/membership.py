"""The configuration as the log defines it: the snapshot's, then each CONF_CHANGE entry in the log.

A configuration takes effect when its entry is appended, not when it commits (thesis §4.1), so a truncated
log must fall back to the configuration before the removed entries: that is what the history is for.
"""

from __future__ import annotations

from raft.errors import AddressConflict
from raft.types import ConfChange, ConfChangeKind, Membership


class ConfigHistory:
    __slots__ = ("_base", "_base_index", "_changes", "current", "learners", "voters")

    def __init__(self, base: Membership, base_index: int = 0) -> None:
        self._base = base
        self._base_index = base_index
        # invariant: indices strictly increase, all above _base_index, each entry is in the log
        self._changes: list[tuple[int, Membership]] = []
        self.current = base
        self.voters = base.voters  # cached: asked on every commit decision
        self.learners = base.learners

    @property
    def last_index(self) -> int:
        """Index of the entry that set the current configuration (the snapshot's index if none in the log)."""
        return self._changes[-1][0] if self._changes else self._base_index

    def at(self, index: int) -> Membership:
        """The configuration in force once the log is applied up to `index`."""
        result = self._base
        for change_index, membership in self._changes:
            if change_index > index:
                break
            result = membership
        return result

    def append(self, index: int, change: ConfChange) -> Membership:
        self._set(self.current.apply(change), index)
        return self.current

    def truncate_from(self, index: int) -> None:
        """Entries from `index` on were replaced: forget the configurations they carried."""
        changes = self._changes
        if not changes or changes[-1][0] < index:
            return
        while changes and changes[-1][0] >= index:
            changes.pop()
        self._refresh()

    def compact_to(self, index: int) -> None:
        self._base = self.at(index)
        self._base_index = index
        self._changes = [(i, m) for i, m in self._changes if i > index]

    def reset(self, base: Membership, base_index: int) -> None:
        self._base = base
        self._base_index = base_index
        self._changes = []
        self._refresh()

    def _set(self, membership: Membership, index: int) -> None:
        self._changes.append((index, membership))
        self._refresh()

    def _refresh(self) -> None:
        self.current = self._changes[-1][1] if self._changes else self._base
        self.voters = self.current.voters
        self.learners = self.current.learners


def validate_change(membership: Membership, change: ConfChange) -> None:
    """Refuse changes that cannot be right; ValueError says why (AddressConflict for a join that would
    re-point a member or reuse a member's address). `membership` is the latest appended configuration,
    committed or pending: the leader decides against everything it has agreed to so far."""
    if change.kind is ConfChangeKind.ADD_LEARNER and change.addr:
        check_address(membership, change.node_id, change.addr)
    if (
        change.kind is ConfChangeKind.ADD_LEARNER
        and not change.addr
        and membership.get(change.node_id) is None
    ):
        raise ValueError(f"adding {change.node_id!r} needs its address")
    if change.kind is ConfChangeKind.PROMOTE and membership.get(change.node_id) is None:
        raise ValueError(f"cannot promote {change.node_id!r}: not a member")
    if change.kind is ConfChangeKind.REMOVE:
        if membership.get(change.node_id) is None:
            raise ValueError(f"cannot remove {change.node_id!r}: not a member")
        if membership.voters == {change.node_id}:
            raise ValueError(f"cannot remove {change.node_id!r}: the last voter")


def same_members(left: Membership, right: Membership) -> bool:
    return set(left.members) == set(right.members)


def check_address(membership: Membership, node_id: str, addr: str) -> None:
    """AddressConflict if `node_id` is a member at another address, or another member has `addr`.

    A member's address is where the leader sends its entries and whose acks count toward commit: moving
    it would hand a voter's place to whoever listens at the new address. To move a node, remove it and
    join it again."""
    existing = membership.get(node_id)
    if existing is not None and existing.addr != addr:
        raise AddressConflict(
            f"{node_id} is already a member at {existing.addr}, not {addr}; to move it, remove it "
            f"(DELETE /raft/members/{node_id}) and join it again with its new address"
        )
    for member in membership.members:
        if member.node_id != node_id and member.addr == addr:
            raise AddressConflict(
                f"{addr} is already the address of member {member.node_id}; every member needs its own "
                "address (remove that member first if it moved away)"
            )


def describe_change(change: ConfChange) -> str:
    """A change in words, for answers and status pages."""
    if change.kind is ConfChangeKind.ADD_LEARNER:
        return f"add {change.node_id} at {change.addr} as a learner"
    if change.kind is ConfChangeKind.PROMOTE:
        return f"promote {change.node_id} to voter"
    return f"remove {change.node_id}"
