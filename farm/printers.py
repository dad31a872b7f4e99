"""Creating, changing and deleting printers."""

from __future__ import annotations

from farm.commands import CreatePrinter, DeletePrinter, UpdatePrinter
from farm.links import connection_of
from farm.records import Printer
from farm.refusals import already_exists, in_use, not_found
from farm.results import Applied, Event, Ok
from farm.store import Store, active_ids


def create_printer(store: Store, command: CreatePrinter, index: int, at_ms: int) -> Applied:
    if command.id in store.printers:
        return Applied(already_exists("printer", command.id))
    printer = Printer(command.id, command.company, command.model, connection=connection_of(command))
    store.put_printer(printer)
    data = printer.to_dict()
    return Applied(Ok(data), (Event(index, "printer.created", data),))


def update_printer(store: Store, command: UpdatePrinter, index: int, at_ms: int) -> Applied:
    printer = store.printers.get(command.id)
    if printer is None:
        return Applied(not_found("printer", command.id))
    changed = False
    if command.company is not None and command.company != printer.company:
        printer.company = command.company
        changed = True
    if command.model is not None and command.model != printer.model:
        printer.model = command.model
        changed = True
    if command.maintenance is not None and command.maintenance != printer.maintenance:
        printer.maintenance = command.maintenance  # a job already running goes on; no new one starts
        changed = True
    data = printer.to_dict()
    return Applied(Ok(data), (Event(index, "printer.updated", data),) if changed else ())


def delete_printer(store: Store, command: DeletePrinter, index: int, at_ms: int) -> Applied:
    if command.id not in store.printers:
        return Applied(not_found("printer", command.id))
    active = active_ids(store.active_by_printer.get(command.id))
    if active:
        return Applied(in_use(store, "printer", command.id, active))
    store.drop_printer(command.id)
    return Applied(Ok(None), (Event(index, "printer.deleted", {"id": command.id}),))
