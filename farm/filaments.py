"""Creating, restocking and deleting filament spools."""

from __future__ import annotations

from farm import ledger
from farm.change import Change
from farm.commands import CreateFilament, DeleteFilament, UpdateFilament
from farm.records import Filament
from farm.refusals import already_exists, in_use, not_found
from farm.results import Applied, Event, Ok
from farm.store import Store, active_ids


def create_filament(store: Store, command: CreateFilament, index: int, at_ms: int) -> Applied:
    if command.id in store.filaments:
        return Applied(already_exists("filament", command.id))
    filament = Filament(
        command.id,
        command.type,
        command.color,
        command.total_weight_in_grams,
        command.remaining_weight_in_grams,
        low_stock_threshold=command.low_stock_threshold_in_grams,
    )
    change = Change(store, index, at_ms)
    change.watch_filament(filament, is_new=True)  # its create entry, and low stock if it starts low
    ledger.open_spool(filament, index, at_ms)
    store.put_filament(filament)
    data = filament.to_dict()
    change.emit("filament.created", data)
    return change.applied(data)


def update_filament(store: Store, command: UpdateFilament, index: int, at_ms: int) -> Applied:
    filament = store.filaments.get(command.id)
    if filament is None:
        return Applied(not_found("filament", command.id))
    total = filament.total if command.total_weight_in_grams is None else command.total_weight_in_grams
    remaining_given = command.remaining_weight_in_grams is not None
    remaining = command.remaining_weight_in_grams if remaining_given else filament.remaining
    refusal = ledger.restock_refusal(filament, total, remaining, remaining_given)
    if refusal is not None:
        return Applied(refusal)
    change = Change(store, index, at_ms)
    change.watch_filament(filament)
    threshold = command.low_stock_threshold_in_grams
    before = (filament.type, filament.color, filament.total, filament.low_stock_threshold)
    if command.type is not None:
        filament.type = command.type
    if command.color is not None:
        filament.color = command.color
    filament.total = total
    if threshold is not None:
        filament.low_stock_threshold = threshold
    if before != (filament.type, filament.color, filament.total, filament.low_stock_threshold):
        change.filament_changed(filament)
    change.adjust(filament, remaining)  # a re-weigh: one ledger entry if the grams changed
    return change.applied(filament.to_dict())


def delete_filament(store: Store, command: DeleteFilament, index: int, at_ms: int) -> Applied:
    if command.id not in store.filaments:
        return Applied(not_found("filament", command.id))
    active = active_ids(store.active_by_filament.get(command.id))
    if active:
        return Applied(in_use(store, "filament", command.id, active))
    store.drop_filament(command.id)
    return Applied(Ok(None), (Event(index, "filament.deleted", {"id": command.id}),))
