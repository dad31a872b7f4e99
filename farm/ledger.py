"""The filament ledger: reserving, consuming and restocking grams on a spool, exact in whole grams.

invariant (per spool): 0 <= reserved <= remaining <= total, and reserved = summed weight of its active jobs
minus what those jobs already consumed. Each function here either refuses (returns a Rejected) or keeps that
invariant, and every change of a spool's grams goes through record(), which appends one entry:

    (index, at_ms, kind, job_id, remaining_delta, reserved_delta, remaining_after, reserved_after)

a plain tuple (compact in memory and in the snapshot). `index` is the log index of the command that made the
change (one command may make two: a consume, then a release); `kind` is a position in KINDS. Each entry's
after-values are the previous entry's plus its deltas; the last entry's are the spool's current grams.
"""

from __future__ import annotations

from typing import Any

import msgpack

from farm.records import Filament, decode_ledger, iso_ms
from farm.results import Rejected

CREATE, RESERVE, RELEASE, CONSUME, ADJUST = range(5)
KINDS: tuple[str, ...] = ("create", "reserve", "release", "consume", "adjust")

Entry = tuple[int, int, int, "str | None", int, int, int, int]


def reservation_refusal(filament: Filament, grams: int) -> Rejected | None:
    available = filament.available
    if grams <= available:
        return None
    return Rejected(
        "insufficient_filament",
        f"filament {filament.id} has {available} g available ({filament.remaining} g remaining, "
        f"{filament.reserved} g reserved); the job needs {grams} g",
        "print_weight_in_grams",
    )


def record(
    filament: Filament, kind: int, job_id: str | None, remaining_delta: int, reserved_delta: int,
    index: int, at_ms: int,
) -> None:
    """Move the spool's grams by the deltas and write the entry; a change of nothing writes nothing."""
    if not (remaining_delta or reserved_delta or kind == CREATE):
        return
    filament.remaining += remaining_delta
    filament.reserved += reserved_delta
    remaining, reserved = filament.remaining, filament.reserved
    entry = (index, at_ms, kind, job_id, remaining_delta, reserved_delta, remaining, reserved)
    blob = filament.ledger_blob
    if type(blob) is not bytearray:  # a restored spool holds its snapshot's bytes until its first change
        blob = filament.ledger_blob = bytearray(blob)
    blob += _pack(entry)


_pack = msgpack.Packer(use_bin_type=True, autoreset=True).pack


def load(filament: Filament, blob: bytes) -> None:
    """Give `filament` the entries of a snapshot's blob (decoded and checked later, by chain_refusal)."""
    filament.ledger_blob = blob


def entries_since(filament: Filament, start: int) -> list[Entry]:
    """The entries written after the ledger's blob was `start` bytes long (len(filament.ledger_blob))."""
    return decode_ledger(filament.ledger_blob, start)


def open_spool(filament: Filament, index: int, at_ms: int) -> None:
    """The spool's first entry: from nothing to its remaining grams (set by the caller as the delta)."""
    remaining, filament.remaining = filament.remaining, 0
    record(filament, CREATE, None, remaining, 0, index, at_ms)


def reserve(filament: Filament, job_id: str, grams: int, index: int, at_ms: int) -> None:
    record(filament, RESERVE, job_id, 0, grams, index, at_ms)


def consume(filament: Filament, job_id: str, grams: int, index: int, at_ms: int) -> None:
    """A job used `grams` of what it reserved: remaining and reserved both drop by it."""
    record(filament, CONSUME, job_id, -grams, -grams, index, at_ms)


def release(filament: Filament, job_id: str, grams: int, index: int, at_ms: int) -> None:
    record(filament, RELEASE, job_id, 0, -grams, index, at_ms)


def adjust(filament: Filament, remaining: int, index: int, at_ms: int) -> None:
    """A re-weigh (PATCH of remaining_weight_in_grams)."""
    record(filament, ADJUST, None, remaining - filament.remaining, 0, index, at_ms)


def entry_to_dict(entry: Entry, at: str | None = None) -> dict[str, Any]:
    """The entry's JSON shape; `at` is its time already formatted, when the caller has it."""
    index, at_ms, kind, job_id, remaining_delta, reserved_delta, remaining_after, reserved_after = entry
    return {
        "index": index,
        "at": at or iso_ms(at_ms),
        "kind": KINDS[kind],
        "job_id": job_id,
        "remaining_delta": remaining_delta,
        "reserved_delta": reserved_delta,
        "remaining_after": remaining_after,
        "reserved_after": reserved_after,
    }


def chain_refusal(filament: Filament) -> str | None:
    """Why the spool's entries do not chain exactly to its grams, or None (snapshot restore and tests)."""
    remaining = reserved = 0
    entries = filament.ledger
    for position, entry in enumerate(entries):
        if type(entry) is not tuple or len(entry) != 8:
            return f"entry {position} is not 8 values"
        kind, remaining_delta, reserved_delta, remaining_after, reserved_after = entry[2], *entry[4:]
        if (kind == CREATE) != (position == 0) or type(kind) is not int or not 0 <= kind < len(KINDS):
            return f"entry {position} has kind {kind!r}; only the first entry, and it always, is a create"
        remaining += remaining_delta
        reserved += reserved_delta
        if (remaining, reserved) != (remaining_after, reserved_after):
            return f"entry {position}'s after-values do not follow from the previous entry and its deltas"
        if not 0 <= reserved <= remaining:
            return f"entry {position} leaves {reserved} g reserved of {remaining} g remaining"
    if not entries:
        return "it has no entries"
    if (remaining, reserved) != (filament.remaining, filament.reserved):
        return (
            f"its last entry ends at {remaining} g remaining / {reserved} g reserved, not "
            f"{filament.remaining} g / {filament.reserved} g"
        )
    return None


def restock_refusal(filament: Filament, total: int, remaining: int, remaining_given: bool) -> Rejected | None:
    """Why the spool may not be set to `total` / `remaining` grams, or None."""
    if remaining > total:
        field = "remaining_weight_in_grams" if remaining_given else "total_weight_in_grams"
        return Rejected(
            "invalid_field",
            f"filament {filament.id} would have {remaining} g remaining out of a total of {total} g; "
            "remaining_weight_in_grams cannot exceed total_weight_in_grams",
            field,
        )
    if remaining < filament.reserved:
        return Rejected(
            "insufficient_filament",
            f"filament {filament.id} has {filament.reserved} g reserved by its queued, running and paused "
            f"jobs; its remaining weight cannot drop to {remaining} g",
            "remaining_weight_in_grams",
        )
    return None
