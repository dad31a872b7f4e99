"""The farm's tables and the indexes kept beside them so that every command costs O(1).

Every change to which jobs are active or hold a printer goes through activate()/occupy()/retire() so the
indexes cannot drift from the jobs; tests rebuild them from scratch (restore) and compare.
"""

from __future__ import annotations

from farm.lifecycle import ACTIVE, OCCUPYING
from farm.records import Filament, Job, Printer
from farm.tokens import TokenTable


class Store:
    __slots__ = (
        "_sorted",
        "active_by_filament",
        "active_by_printer",
        "filaments",
        "jobs",
        "occupant_by_printer",
        "printers",
        "tokens",
    )

    def __init__(self) -> None:
        self.printers: dict[str, Printer] = {}
        self.filaments: dict[str, Filament] = {}
        self.jobs: dict[str, Job] = {}
        # invariant: the ids of the Queued, Running and Paused jobs per printer / per filament. Dicts used as
        # ordered sets: a set's order depends on the per-process string hash seed, and a refusal names the
        # first job, so the order must be the same on every node.
        self.active_by_printer: dict[str, dict[str, None]] = {}
        self.active_by_filament: dict[str, dict[str, None]] = {}
        # invariant: the one Running or Paused job of each printer that has one
        self.occupant_by_printer: dict[str, str] = {}
        self.tokens = TokenTable()  # API tokens (farm/tokens.py)
        self._sorted: dict[str, list[str]] = {}  # ids in list order per table, rebuilt after a create/delete

    def put_printer(self, printer: Printer) -> None:
        self.printers[printer.id] = printer
        self._sorted.pop("printers", None)

    def drop_printer(self, printer_id: str) -> None:
        del self.printers[printer_id]
        self._sorted.pop("printers", None)

    def put_filament(self, filament: Filament) -> None:
        self.filaments[filament.id] = filament
        self._sorted.pop("filaments", None)

    def drop_filament(self, filament_id: str) -> None:
        del self.filaments[filament_id]
        self._sorted.pop("filaments", None)

    def add_job(self, job: Job) -> None:
        self.jobs[job.job_id] = job
        self._sorted.pop("jobs", None)
        if job.status in ACTIVE:
            self.activate(job)

    def activate(self, job: Job) -> None:
        """Index `job` (Queued, Running or Paused) as holding its printer and filament."""
        self.active_by_printer.setdefault(job.printer_id, {})[job.job_id] = None
        self.active_by_filament.setdefault(job.filament_id, {})[job.job_id] = None
        if job.status in OCCUPYING:
            self.occupy(job)

    def occupy(self, job: Job) -> None:
        """Index `job`, now Running, as its printer's one running or paused job."""
        self.occupant_by_printer[job.printer_id] = job.job_id

    def retire(self, job: Job) -> None:
        """Forget `job`, now terminal, in every index of active jobs."""
        for by_owner, owner in (
            (self.active_by_printer, job.printer_id),
            (self.active_by_filament, job.filament_id),
        ):
            members = by_owner[owner]
            del members[job.job_id]
            if not members:
                del by_owner[owner]
        if self.occupant_by_printer.get(job.printer_id) == job.job_id:
            del self.occupant_by_printer[job.printer_id]

    def sorted_ids(self, table: str) -> list[str]:
        """The ids of `table` ("printers", "filaments", "jobs") in list order; do not mutate the result."""
        ids = self._sorted.get(table)
        if ids is None:
            ids = self._sorted[table] = sorted(getattr(self, table))
        return ids
