"""The first outcome of every write that carried an Idempotency-Key (Raft thesis §6.3), bounded.

A key names one request: each record keeps a fingerprint of the command it was first used for, and a repeat
of the key with another command is refused (idempotency_key_reused) instead of answering the first
command's outcome as if it were this one's.

Each key's record is kept msgpack-encoded ([key, index, fingerprint, outcome], about a hundred bytes instead
of a dict per key): the node's bridge keys every write, so the table is usually full, and a snapshot then
only joins the records instead of encoding a hundred thousand outcomes. A key is forgotten once it is older
than `window` log indexes or when more than `capacity` keys are held, oldest first; a retry after that
applies again.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import msgpack

from farm.codec import decode_outcome_obj, outcome_to_obj
from farm.results import Outcome, Rejected

WINDOW = 100_000
CAPACITY = 100_000
FINGERPRINT_BYTES = 8


def fingerprint(encoded_command: bytes) -> bytes:
    """64 bits of blake2b of the command's bytes: the same on every node, and across processes."""
    return hashlib.blake2b(encoded_command, digest_size=FINGERPRINT_BYTES).digest()


def key_reused(key: str) -> Rejected:
    return Rejected(
        "idempotency_key_reused",
        f"idempotency key {key!r} was first used for another request; send a new request with a new key",
    )


class IdempotencyTable:
    __slots__ = ("_entries", "capacity", "window")

    def __init__(self, window: int = WINDOW, capacity: int = CAPACITY) -> None:
        self.window = window
        self.capacity = capacity
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
            entries.popitem(last=False)

    def remember(self, key: str, index: int, command_fingerprint: bytes, outcome: Outcome) -> None:
        record = msgpack.packb([key, index, command_fingerprint, outcome_to_obj(outcome)], use_bin_type=True)
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
        for record in unpacker:
            end = unpacker.tell()
            if type(record) is not list or len(record) != 4:
                raise ValueError(
                    f"idempotency record at byte {start}: expected [key, index, fingerprint, outcome]"
                )
            key, index, command_fingerprint, outcome = record
            decode_outcome_obj(outcome)  # a record that does not decode must fail here, not at a retry
            if type(key) is not str or type(index) is not int:
                raise ValueError(f"idempotency record at byte {start}: bad key or index")
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
        self._entries = entries
