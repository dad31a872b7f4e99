"""Follower-side assembly of a snapshot sent in chunks (InstallSnapshot, Raft §7)."""

from __future__ import annotations

from raft.messages import InstallSnapshot
from raft.types import Snapshot


class SnapshotAssembler:
    """Collects consecutive chunks of one snapshot; a chunk at offset 0 starts over.

    Chunks out of order or of another snapshot are refused: the reply names the offset we want next.
    """

    __slots__ = ("_key", "_parts", "_size")

    def __init__(self) -> None:
        self._key: tuple[int, int, int] | None = None  # (leader term, index, snapshot term)
        self._parts: list[bytes] = []
        self._size = 0

    def expected_offset(self, message: InstallSnapshot) -> int:
        if self._key == (message.term, message.index, message.snapshot_term):
            return self._size
        return 0

    def accept(self, message: InstallSnapshot) -> Snapshot | None:
        """Take a chunk; the whole snapshot once its last chunk arrived in order, else None."""
        key = (message.term, message.index, message.snapshot_term)
        if message.offset == 0:
            self._key, self._parts, self._size = key, [], 0
        elif key != self._key or message.offset != self._size:
            return None
        self._parts.append(message.data)
        self._size += len(message.data)
        if not message.done:
            return None
        data = b"".join(self._parts)
        self.reset()
        return Snapshot(message.index, message.snapshot_term, message.membership, data)

    def reset(self) -> None:
        self._key, self._parts, self._size = None, [], 0
