"""The first outcome of every write that carried an Idempotency-Key (Raft thesis §6.3), bounded.

A key names one request: each record keeps a fingerprint of the command it was first used for, and a repeat
of the key with another command is refused (idempotency_key_reused) instead of answering the first
command's outcome as if it were this one's.

The node's bridge keys every write: with the client's Idempotency-Key, else with an internal key of its own
("~" and random characters; the HTTP layer refuses client keys starting with "~"). Internal keys only have
to outlive the cluster's own retries, seconds, so they live in a small table of their own: a client key is
kept as long as its bounds allow however many unkeyed writes follow, and the snapshot, taken on the node's
event loop, is not dominated by a hundred thousand keys nobody will ever repeat.

Each key's record is kept msgpack-encoded ([key, index, fingerprint, outcome], about a hundred bytes instead
of a dict per key), so a snapshot only joins the records instead of encoding every outcome. A key is
forgotten once it is older than `window` log indexes, or when its table holds more than its capacity or
more than its byte budget (an outcome can hold a 64 KiB object: a count alone let the tables grow to
gigabytes), oldest first; a retry after that applies again. The budgets are replicated semantics, like the
capacities: every node keeps the longest run of newest records that fits, so every node keeps the same.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import msgpack

from farm.codec import decode_outcome_obj, outcome_to_obj
from farm.results import Outcome, Rejected

WINDOW = 100_000
CAPACITY = 100_000
INTERNAL_KEY_PREFIX = "~"
INTERNAL_CAPACITY = 4_096
MAX_BYTES = 16 * 1024 * 1024
INTERNAL_MAX_BYTES = 4 * 1024 * 1024
FINGERPRINT_BYTES = 8


def fingerprint(encoded_command: bytes) -> bytes:
    """64 bits of blake2b of the command's bytes: the same on every node, and across processes."""
    return hashlib.blake2b(encoded_command, digest_size=FINGERPRINT_BYTES).digest()


def key_reused(key: str) -> Rejected:
    return Rejected(
        "idempotency_key_reused",
        f"idempotency key {key!r} was first used for another request; send a new request with a new key",
    )


def is_internal(key: str) -> bool:
    return key.startswith(INTERNAL_KEY_PREFIX)


class IdempotencyTable:
    """The records of one kind of key: client keys, or with `internal` the node's own."""

    __slots__ = ("_entries", "capacity", "internal", "max_bytes", "size_bytes", "window")

    def __init__(
        self,
        window: int = WINDOW,
        capacity: int = CAPACITY,
        *,
        internal: bool = False,
        max_bytes: int | None = None,
    ) -> None:
        self.window = window
        self.capacity = capacity
        self.internal = internal
        self.max_bytes = max_bytes or (INTERNAL_MAX_BYTES if internal else MAX_BYTES)
        self.size_bytes = 0  # invariant: the summed length of the records held
        # key -> (index, record); invariant: in increasing index order (keys are appended, each once)
        self._entries: OrderedDict[str, tuple[int, bytes]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def recall(self, key: str, command_fingerprint: bytes) -> Outcome | None:
        """The key's first outcome if it was first used for this command, key_reused if for another,
        None if the key is not held."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        _, _, first_fingerprint, outcome = msgpack.unpackb(entry[1], raw=False)
        if first_fingerprint != command_fingerprint:
            return key_reused(key)
        return decode_outcome_obj(outcome)

    def expire(self, index: int) -> None:
        """Forget the keys older than `window` log indexes at `index`."""
        entries = self._entries
        oldest_kept = index - self.window
        while entries and next(iter(entries.values()))[0] < oldest_kept:
            self._evict_oldest()

    def remember(self, key: str, index: int, command_fingerprint: bytes, outcome: Outcome) -> None:
        record = msgpack.packb([key, index, command_fingerprint, outcome_to_obj(outcome)], use_bin_type=True)
        self._entries[key] = (index, record)
        self.size_bytes += len(record)
        self._fit()

    def _fit(self) -> None:
        while len(self._entries) > self.capacity or self.size_bytes > self.max_bytes:
            self._evict_oldest()

    def _evict_oldest(self) -> None:
        _, (_, record) = self._entries.popitem(last=False)
        self.size_bytes -= len(record)

    def to_blob(self) -> bytes:
        """Every record, oldest first, back to back."""
        return b"".join(record for _, record in self._entries.values())

    def load(self, blob: bytes) -> None:
        """Replace the entries with those of `to_blob()`'s output; refuse records this table could not
        have held (another kind of key, a key twice, not oldest first, more than its capacity)."""
        unpacker = msgpack.Unpacker(raw=False, strict_map_key=True, max_buffer_size=max(len(blob), 1))
        unpacker.feed(blob)
        entries: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
        start = last_index = 0
        for record in unpacker:
            end = unpacker.tell()
            if type(record) is not list or len(record) != 4:
                raise ValueError(
                    f"idempotency record at byte {start}: expected [key, index, fingerprint, outcome]"
                )
            key, index, command_fingerprint, outcome = record
            decode_outcome_obj(outcome)  # a record that does not decode must fail here, not at a retry
            if type(key) is not str or type(index) is not int or index < 1:
                raise ValueError(f"idempotency record at byte {start}: bad key or index")
            if is_internal(key) != self.internal or key in entries:
                raise ValueError(f"idempotency record at byte {start}: key {key!r} does not belong here")
            if entries and index <= last_index:
                raise ValueError(
                    f"idempotency record at byte {start}: index {index} is not after {last_index}"
                )
            last_index = index
            if type(command_fingerprint) is not bytes or len(command_fingerprint) != FINGERPRINT_BYTES:
                raise ValueError(
                    f"idempotency record at byte {start}: the fingerprint is not {FINGERPRINT_BYTES} bytes"
                )
            entries[key] = (index, blob[start:end])
            start = end
        if start != len(blob):
            raise ValueError(
                f"idempotency records: {len(blob) - start} bytes of a truncated record at the end"
            )
        if len(entries) > self.capacity:
            raise ValueError(f"idempotency records: {len(entries)} keys, more than the {self.capacity} held")
        self._entries = entries
        self.size_bytes = len(blob)
        self._fit()  # a snapshot from before the byte budgets: keep what a node applying the log keeps


class IdempotencyKeys:
    """Client keys and internal keys, each in its own bounded table; a key's first character decides."""

    __slots__ = ("client", "internal")

    def __init__(
        self, window: int = WINDOW, capacity: int = CAPACITY, internal_capacity: int = INTERNAL_CAPACITY
    ) -> None:
        self.client = IdempotencyTable(window, capacity)
        self.internal = IdempotencyTable(window, internal_capacity, internal=True)

    def _table(self, key: str) -> IdempotencyTable:
        return self.internal if is_internal(key) else self.client

    def expire(self, index: int) -> None:
        self.client.expire(index)
        self.internal.expire(index)

    def recall(self, key: str, command_fingerprint: bytes) -> Outcome | None:
        return self._table(key).recall(key, command_fingerprint)

    def remember(self, key: str, index: int, command_fingerprint: bytes, outcome: Outcome) -> None:
        self._table(key).remember(key, index, command_fingerprint, outcome)
