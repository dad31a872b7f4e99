"""The first outcome of every write that carried an Idempotency-Key (Raft thesis §6.3), bounded.

Outcomes are kept encoded: about a hundred bytes each instead of a dict per key, and the snapshot copies
them as they are. A key is forgotten once it is older than `window` log indexes or when more than
`capacity` keys are held, oldest first; a retry after that applies again.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

WINDOW = 100_000
CAPACITY = 100_000


class IdempotencyTable:
    __slots__ = ("_entries", "capacity", "window")

    def __init__(self, window: int = WINDOW, capacity: int = CAPACITY) -> None:
        self.window = window
        self.capacity = capacity
        # invariant: in increasing index order (keys are only ever appended, each once)
        self._entries: OrderedDict[str, tuple[int, bytes]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        return None if entry is None else entry[1]

    def expire(self, index: int) -> None:
        """Forget the keys older than `window` log indexes at `index`."""
        entries = self._entries
        oldest_kept = index - self.window
        while entries and next(iter(entries.values()))[0] < oldest_kept:
            entries.popitem(last=False)

    def remember(self, key: str, index: int, outcome: bytes) -> None:
        self._entries[key] = (index, outcome)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def to_obj(self) -> list[Any]:
        return [[key, index, outcome] for key, (index, outcome) in self._entries.items()]

    def load(self, obj: Any) -> None:
        """Replace the entries with `to_obj()`'s output (trusted: it comes from our own snapshot)."""
        self._entries = OrderedDict((key, (index, outcome)) for key, index, outcome in obj)
