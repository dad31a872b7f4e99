"""The first outcome of every write that carried an Idempotency-Key (Raft thesis §6.3), bounded.

Each key's record is kept msgpack-encoded ([key, index, outcome], about a hundred bytes instead of a dict
per key): the node's bridge keys every write, so the table is usually full, and a snapshot then only joins
the records instead of encoding a hundred thousand outcomes. A key is forgotten once it is older than
`window` log indexes or when more than `capacity` keys are held, oldest first; a retry after that applies
again.
"""

from __future__ import annotations

from collections import OrderedDict

import msgpack

from farm.codec import decode_outcome_obj, outcome_to_obj
from farm.results import Outcome

WINDOW = 100_000
CAPACITY = 100_000


class IdempotencyTable:
    __slots__ = ("_entries", "capacity", "window")

    def __init__(self, window: int = WINDOW, capacity: int = CAPACITY) -> None:
        self.window = window
        self.capacity = capacity
        # key -> (index, record); invariant: in increasing index order (keys are appended, each once)
        self._entries: OrderedDict[str, tuple[int, bytes]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> Outcome | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        return decode_outcome_obj(msgpack.unpackb(entry[1], raw=False)[2])

    def expire(self, index: int) -> None:
        """Forget the keys older than `window` log indexes at `index`."""
        entries = self._entries
        oldest_kept = index - self.window
        while entries and next(iter(entries.values()))[0] < oldest_kept:
            entries.popitem(last=False)

    def remember(self, key: str, index: int, outcome: Outcome) -> None:
        record = msgpack.packb([key, index, outcome_to_obj(outcome)], use_bin_type=True)
        self._entries[key] = (index, record)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def to_blob(self) -> bytes:
        """Every record, oldest first, back to back."""
        return b"".join(record for _, record in self._entries.values())

    def load(self, blob: bytes) -> None:
        """Replace the entries with those of `to_blob()`'s output."""
        unpacker = msgpack.Unpacker(raw=False, strict_map_key=True, max_buffer_size=max(len(blob), 1))
        unpacker.feed(blob)
        entries: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
        start = 0
        for key, index, outcome in unpacker:
            end = unpacker.tell()
            decode_outcome_obj(outcome)  # a record that does not decode must fail here, not at a retry
            if type(key) is not str or type(index) is not int:
                raise ValueError(f"idempotency record at byte {start}: bad key or index")
            entries[key] = (index, blob[start:end])
            start = end
        if start != len(blob):
            raise ValueError(
                f"idempotency records: {len(blob) - start} bytes of a truncated record at the end"
            )
        self._entries = entries
