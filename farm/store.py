"""The farm's tables and the indexes kept beside them so that every command costs O(1).

Every change to which jobs are active or hold a printer goes through activate()/occupy()/retire() so the
indexes cannot drift from the jobs; tests rebuild them from scratch (restore) and compare.
"""

from __future__ import annotations

from bisect import bisect_left, insort

from farm.lifecycle import ACTIVE, OCCUPYING, QUEUED
from farm.records import Filament, Job, Printer
from farm.stats import Stats


class Store:
    __slots__ = (
        "_job_sequence",
        "_sorted",
        "active_by_filament",
        "active_by_printer",
        "filaments",
        "jobs",
        "occupant_by_printer",
        "printers",
        "stats",
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
        self._sorted: dict[str, list[str]] = {}  # ids in list order per table, rebuilt after a create/delete
        self._job_sequence = 0  # jobs added so far: each job's creation order (restore re-adds them in order)
        self.stats = Stats()

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
        self._job_sequence += 1
        job.sequence = self._job_sequence
        self.jobs[job.job_id] = job
        self._sorted.pop("jobs", None)
        self.stats.count(job)
        if job.status in ACTIVE:
            self.activate(job)

    def activate(self, job: Job) -> None:
        """Index `job` (Queued, Running or Paused) as holding its printer and filament."""
        self.active_by_printer.setdefault(job.printer_id, {})[job.job_id] = None
        self.active_by_filament.setdefault(job.filament_id, {})[job.job_id] = None
        if job.status in OCCUPYING:
            self.occupy(job)
        elif job.status == QUEUED:
            insort(self.printers[job.printer_id].queue, _queue_key(job))

    def occupy(self, job: Job) -> None:
        """Index `job`, now Running, as its printer's one running or paused job."""
        self.occupant_by_printer[job.printer_id] = job.job_id
        self.printers[job.printer_id].current_job = job

    def dequeue(self, job: Job) -> None:
        """Take `job`, leaving Queued (or about to change priority), out of its printer's queue."""
        queue = self.printers[job.printer_id].queue
        del queue[bisect_left(queue, _queue_key(job))]

    def reprioritize(self, job: Job, priority: int) -> None:
        """Give Queued `job` a new priority, moving it to its new place in its printer's queue."""
        self.dequeue(job)
        job.priority = priority
        insort(self.printers[job.printer_id].queue, _queue_key(job))

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
            self.printers[job.printer_id].current_job = None

    def sorted_ids(self, table: str) -> list[str]:
        """The ids of `table` ("printers", "filaments", "jobs") in list order; do not mutate the result."""
        ids = self._sorted.get(table)
        if ids is None:
            ids = self._sorted[table] = sorted(getattr(self, table))
        return ids


def _queue_key(job: Job) -> tuple[int, int, str]:
    """Run order: priority descending, then oldest first."""
    return (-job.priority, job.sequence, job.job_id)
