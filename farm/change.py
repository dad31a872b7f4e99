"""One command's change to the farm, and the events it publishes, gathered in one place.

A handler watches the printers and spools it may touch before touching them; moves a spool's grams only
through this object (so the ledger entry, the stats and the events cannot be forgotten); and ends with
applied(). The events follow from what actually changed: a printer.updated when a printer's status,
current job, maintenance or bed changed; for a spool, filament.updated when anything about it changed, one
filament.ledger event per new ledger entry, and filament.low_stock when its low_stock turned true.
"""

from __future__ import annotations

from typing import Any

from farm import ledger
from farm.records import Filament, Printer, iso_ms
from farm.results import Applied, Event, Ok
from farm.store import Store


class Change:
    __slots__ = ("_events", "_filaments", "_printers", "at_ms", "index", "store")

    def __init__(self, store: Store, index: int, at_ms: int) -> None:
        self.store = store
        self.index = index
        self.at_ms = at_ms
        self._events: list[tuple[str, dict[str, Any]]] = []
        # id -> (spool, its ledger length, its low_stock, changed otherwise) / (printer, its view_key) before
        self._filaments: dict[str, list[Any]] = {}
        self._printers: dict[str, tuple[Printer, tuple[Any, ...]]] = {}

    # --- what the handler is about to touch ---------------------------------------------------------------

    def watch_printer(self, printer: Printer) -> None:
        if printer.id not in self._printers:
            self._printers[printer.id] = (printer, printer.view_key())

    def watch_filament(self, filament: Filament, *, is_new: bool = False) -> None:
        """With `is_new`, the spool is being created: its filament.created event says it all."""
        if filament.id not in self._filaments:
            low = filament.low_stock and not is_new
            length = len(filament.ledger_blob)  # the ledger's bytes so far: what follows is this command's
            self._filaments[filament.id] = [filament, length, low, None if is_new else False]

    def filament_changed(self, filament: Filament) -> None:
        """Something other than its grams changed (type, color, total, threshold): publish it."""
        self.watch_filament(filament)
        self._filaments[filament.id][3] = True

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        self._events.append((event_type, data))

    # --- moving grams -------------------------------------------------------------------------------------

    def reserve(self, filament: Filament, job_id: str, grams: int) -> None:
        self.watch_filament(filament)
        ledger.reserve(filament, job_id, grams, self.index, self.at_ms)

    def consume(self, filament: Filament, job_id: str, grams: int) -> None:
        self.watch_filament(filament)
        ledger.consume(filament, job_id, grams, self.index, self.at_ms)
        self.store.stats.consumed(filament.type, grams)

    def release(self, filament: Filament, job_id: str, grams: int) -> None:
        self.watch_filament(filament)
        ledger.release(filament, job_id, grams, self.index, self.at_ms)

    def adjust(self, filament: Filament, remaining: int) -> None:
        self.watch_filament(filament)
        ledger.adjust(filament, remaining, self.index, self.at_ms)

    # --- the outcome --------------------------------------------------------------------------------------

    def applied(self, value: Any) -> Applied:
        events = self._events
        for printer, before in self._printers.values():
            if printer.view_key() != before:
                events.append(("printer.updated", printer.to_dict()))
        at = None  # every entry of one command has the same time: format it once
        for filament, ledger_length, was_low, changed in self._filaments.values():
            entries = ledger.entries_since(filament, ledger_length)
            if changed or (entries and changed is not None):
                events.append(("filament.updated", filament.to_dict()))
            for entry in entries:
                at = at or iso_ms(self.at_ms)
                data = ledger.entry_to_dict(entry, at)
                data["filament_id"] = filament.id
                events.append(("filament.ledger", data))
            if filament.low_stock and not was_low:
                events.append(("filament.low_stock", filament.to_dict()))
        index, last = self.index, len(events) - 1
        return Applied(
            Ok(value),
            tuple(
                Event(index, event_type, data, position == last)
                for position, (event_type, data) in enumerate(events)
            ),
        )
