"""The whole farm state as msgpack and back: tables in insertion order, then the two idempotency tables.

Insertion order (not id order) keeps snapshot() O(n) and makes a restored state snapshot to the same bytes
as the state it came from. Derived values (reservations, indexes, queues, job counts) are not stored: restore
rebuilds them from the jobs and refuses a snapshot whose numbers break the ledger's invariant or whose spool
ledgers do not chain exactly to the spools' grams. Ledger entries are stored as the tuples they are in
memory (farm/ledger.py) and read back as tuples (use_list=False), so neither way converts them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgpack

from farm import ledger
from farm.idempotency import IdempotencyKeys
from farm.lifecycle import ACTIVE, FAILED, FAILURE_REASONS, OCCUPYING, REPORTED_STATES, STATUSES
from farm.records import Filament, Job, Printer
from farm.store import Store

# 2: idempotency records carry the fingerprint of their first command; 3: client and internal keys in two
# tables; 4: the farm's workflow (printer maintenance/bed/reported state, job priority/progress/failure
# reason/retry_of, spool thresholds and ledgers, grams consumed by type). An older snapshot is refused.
SNAPSHOT_VERSION = 4


class SnapshotError(ValueError):
    """Bytes that are not a farm snapshot, or one whose numbers contradict each other."""


@contextmanager
def _no_collections() -> Iterator[None]:
    """Building a snapshot or restoring one allocates hundreds of thousands of objects and frees none: a
    garbage collection in the middle finds nothing and costs a traversal of the whole farm (a third to a half
    of the time, measured in bench/farm_snapshot.py). Pause the collector, and only if it was running."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def encode_snapshot(store: Store, idempotency: IdempotencyKeys) -> bytes:
    with _no_collections():
        return _encode(store, idempotency)


def _encode(store: Store, idempotency: IdempotencyKeys) -> bytes:
    return msgpack.packb(
        [
            SNAPSHOT_VERSION,
            [
                [p.id, p.company, p.model, p.maintenance, p.bed_clear, p.reported_state]
                for p in store.printers.values()
            ],
            [
                [f.id, f.type, f.color, f.total, f.remaining, f.low_stock_threshold, bytes(f.ledger_blob)]
                for f in store.filaments.values()
            ],
            [
                [
                    j.job_id,
                    j.printer_id,
                    j.filament_id,
                    j.weight,
                    j.status,
                    j.details,
                    j.created_at,
                    j.started_at,
                    j.ended_at,
                    j.used,
                    j.priority,
                    j.progress,
                    j.failure_reason,
                    j.retry_of,
                ]
                for j in store.jobs.values()
            ],
            idempotency.client.to_blob(),
            idempotency.internal.to_blob(),
            store.stats.consumed_by_type,
        ],
        use_bin_type=True,
    )


class _Reader:
    """The snapshot read in order, its three tables a record at a time: msgpack.unpackb over a 300k-object
    snapshot is one C call that holds the GIL for ~0.4 s (a node decoding a received snapshot in a worker
    thread stalled its loop as long), and the whole decoded tree, as big as the state, left holes that the
    state then filled: a replaced state could not give its memory back. Record by record, each record's
    tuple is dropped as soon as it is built into a record, and the thread hands the GIL back in between."""

    def __init__(self, data: bytes) -> None:
        self._unpacker = msgpack.Unpacker(
            raw=False, strict_map_key=True, use_list=False, max_buffer_size=max(len(data), 1)
        )
        self._unpacker.feed(data)
        self._size = len(data)
        self.count = self._unpacker.read_array_header()
        self.version = self._unpacker.unpack() if self.count else None

    def table(self) -> Iterator[Any]:
        """The next element, an array, one item at a time (consume it before asking for the next)."""
        for _ in range(self._unpacker.read_array_header()):
            yield self._unpacker.unpack()

    def item(self) -> Any:
        return self._unpacker.unpack()

    def check_end(self) -> None:
        if self._unpacker.tell() != self._size:
            raise ValueError("trailing bytes after the snapshot")


def decode_snapshot(data: bytes, idempotency: IdempotencyKeys) -> Store:
    """The store held in `data`; fills `idempotency` with the snapshot's keys."""
    with _no_collections():
        return _decode(data, idempotency)


def _decode(data: bytes, idempotency: IdempotencyKeys) -> Store:
    try:
        reader = _Reader(data)
    except Exception as exc:  # msgpack raises several unrelated types on bad input
        raise SnapshotError(f"farm snapshot: not valid msgpack ({type(exc).__name__})") from exc
    if reader.count != 7 or reader.version != SNAPSHOT_VERSION or type(reader.version) is not int:
        raise SnapshotError(
            f"farm snapshot: expected [version {SNAPSHOT_VERSION}, printers, filaments, jobs, client keys, "
            "internal keys, grams consumed by type]"
        )
    try:
        store = _store_from_obj(reader.table(), reader.table(), reader.table())
        for table in (idempotency.client, idempotency.internal):
            records = reader.item()
            if type(records) is not bytes:
                raise TypeError("the idempotency records must be bytes")
            table.load(records)
        consumed = reader.item()
        reader.check_end()
        if type(consumed) is not dict or any(type(v) is not int or v < 0 for v in consumed.values()):
            raise TypeError("grams consumed by type must map types to whole grams")
        store.stats.consumed_by_type = consumed
        _check_invariants(store)
    except SnapshotError:
        raise
    except (TypeError, ValueError, KeyError, msgpack.UnpackException, msgpack.OutOfData) as exc:
        raise SnapshotError(f"farm snapshot: malformed ({type(exc).__name__}: {exc})") from exc
    return store


def _store_from_obj(printers: Any, filaments: Any, jobs: Any) -> Store:
    store = Store(indexed=False)  # the ordered indexes are built in bulk at the end
    for printer_id, company, model, maintenance, bed_clear, reported_state in printers:
        if reported_state is not None and reported_state not in REPORTED_STATES:
            raise ValueError(f"printer {printer_id} has unknown reported state {reported_state!r}")
        store.put_printer(Printer(printer_id, company, model, maintenance, bed_clear, reported_state))
    for filament_id, kind, color, total, remaining, threshold, blob in filaments:
        filament = Filament(filament_id, kind, color, total, remaining, low_stock_threshold=threshold)
        if type(blob) is not bytes:
            raise TypeError(f"filament {filament_id}: its ledger must be bytes")
        ledger.load(filament, blob)
        store.put_filament(filament)
    for fields in jobs:
        job = Job(*fields)
        if job.status not in STATUSES:
            raise ValueError(f"job {job.job_id} has unknown status {job.status!r}")
        reason = job.failure_reason
        if reason is not None and (job.status != FAILED or reason not in FAILURE_REASONS):
            raise ValueError(f"job {job.job_id} ({job.status}) has failure reason {job.failure_reason!r}")
        if job.status in ACTIVE:
            store.filaments[job.filament_id].reserved += job.weight - (job.used or 0)
            occupant = store.occupant_by_printer.get(job.printer_id)
            if job.status in OCCUPYING and occupant is not None:
                raise ValueError(f"printer {job.printer_id} has two running or paused jobs")
            if job.printer_id not in store.printers:
                raise ValueError(f"active job {job.job_id} names missing printer {job.printer_id}")
        store.add_job(job)
    store.build_indexes()
    return store


def _check_invariants(store: Store) -> None:
    for filament in store.filaments.values():
        if not 0 <= filament.reserved <= filament.remaining <= filament.total:
            raise SnapshotError(
                f"farm snapshot: filament {filament.id} breaks 0 <= reserved ({filament.reserved}) <= "
                f"remaining ({filament.remaining}) <= total ({filament.total})"
            )
        broken = ledger.chain_refusal(filament)
        if broken is not None:
            raise SnapshotError(f"farm snapshot: filament {filament.id}'s ledger does not chain: {broken}")
