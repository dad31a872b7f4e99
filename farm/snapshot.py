"""The whole farm state as msgpack and back: tables in insertion order, then the two idempotency tables.

Insertion order (not id order) keeps snapshot() O(n) and makes a restored state snapshot to the same bytes
as the state it came from. Derived values (reservations, indexes) are not stored: restore rebuilds them from
the jobs and refuses a snapshot whose numbers break the ledger's invariant.
"""

from __future__ import annotations

from typing import Any

import msgpack

from farm.idempotency import IdempotencyKeys
from farm.lifecycle import ACTIVE, OCCUPYING, STATUSES
from farm.records import Filament, Job, Printer
from farm.store import Store

# 2: idempotency records carry the fingerprint of their first command; 3: client and internal keys in two
# tables. An older snapshot is refused: its keys could not tell a retry from a reuse.
SNAPSHOT_VERSION = 3


class SnapshotError(ValueError):
    """Bytes that are not a farm snapshot, or one whose numbers contradict each other."""


def encode_snapshot(store: Store, idempotency: IdempotencyKeys) -> bytes:
    return msgpack.packb(
        [
            SNAPSHOT_VERSION,
            [[p.id, p.company, p.model] for p in store.printers.values()],
            [[f.id, f.type, f.color, f.total, f.remaining] for f in store.filaments.values()],
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
                ]
                for j in store.jobs.values()
            ],
            idempotency.client.to_blob(),
            idempotency.internal.to_blob(),
            store.tokens.to_obj(),
        ],
        use_bin_type=True,
    )


def decode_snapshot(data: bytes, idempotency: IdempotencyKeys) -> Store:
    """The store held in `data`; fills `idempotency` with the snapshot's keys."""
    try:
        obj = msgpack.unpackb(data, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated types on bad input
        raise SnapshotError(f"farm snapshot: not valid msgpack ({type(exc).__name__})") from exc
    # a 7th member, the API tokens, came later: a snapshot without it is of an open cluster
    if type(obj) is not list or len(obj) not in (6, 7) or obj[0] != SNAPSHOT_VERSION or type(obj[0]) is bool:
        raise SnapshotError(
            f"farm snapshot: expected [version {SNAPSHOT_VERSION}, printers, filaments, jobs, client keys, "
            "internal keys, tokens]"
        )
    try:
        store = _store_from_obj(obj[1], obj[2], obj[3])
        for table, records in ((idempotency.client, obj[4]), (idempotency.internal, obj[5])):
            if type(records) is not bytes:
                raise TypeError("the idempotency records must be bytes")
            table.load(records)
        if len(obj) == 7:
            store.tokens.load(obj[6])
        _check_invariants(store)
    except SnapshotError:
        raise
    except (TypeError, ValueError, KeyError, msgpack.UnpackException) as exc:
        raise SnapshotError(f"farm snapshot: malformed ({type(exc).__name__}: {exc})") from exc
    return store


def _store_from_obj(printers: Any, filaments: Any, jobs: Any) -> Store:
    store = Store()
    for printer_id, company, model in printers:
        store.put_printer(Printer(printer_id, company, model))
    for filament_id, kind, color, total, remaining in filaments:
        store.put_filament(Filament(filament_id, kind, color, total, remaining))
    for fields in jobs:
        job = Job(*fields)
        if job.status not in STATUSES:
            raise ValueError(f"job {job.job_id} has unknown status {job.status!r}")
        if job.status in ACTIVE:
            store.filaments[job.filament_id].reserved += job.weight
            occupant = store.occupant_by_printer.get(job.printer_id)
            if job.status in OCCUPYING and occupant is not None:
                raise ValueError(f"printer {job.printer_id} has two running or paused jobs")
            if job.printer_id not in store.printers:
                raise ValueError(f"active job {job.job_id} names missing printer {job.printer_id}")
        store.add_job(job)
    return store


def _check_invariants(store: Store) -> None:
    for filament in store.filaments.values():
        if not 0 <= filament.reserved <= filament.remaining <= filament.total:
            raise SnapshotError(
                f"farm snapshot: filament {filament.id} breaks 0 <= reserved ({filament.reserved}) <= "
                f"remaining ({filament.remaining}) <= total ({filament.total})"
            )
