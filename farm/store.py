"""The farm's tables and the indexes kept beside them so that every command costs O(1).

Every change to which jobs are active or hold a printer goes through activate()/occupy()/retire() so the
indexes cannot drift from the jobs; tests rebuild them from scratch (restore) and compare.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Sequence

from farm.lifecycle import ACTIVE, OCCUPYING, QUEUED, STATUSES
from farm.ordered import Ordered
from farm.records import Filament, Job, Printer
from farm.stats import Stats
from farm.tokens import TokenTable

_STATUSES = {status: status for status in STATUSES}


class Store:
    __slots__ = (
        "_job_sequence",
        "_ordered",
        "active_by_filament",
        "active_by_printer",
        "filaments",
        "jobs",
        "occupant_by_printer",
        "printers",
        "stats",
        "tokens",
    )

    def __init__(self, *, indexed: bool = True) -> None:
        self.printers: dict[str, Printer] = {}
        self.filaments: dict[str, Filament] = {}
        self.jobs: dict[str, Job] = {}
        # invariant: the ids of the Queued, Running and Paused jobs per printer / per filament. Dicts used as
        # ordered sets: a set's order depends on the per-process string hash seed, and a refusal names the
        # first job, so the order must be the same on every node. A printer or spool with one active job
        # (the usual case) holds its id alone: a dict each would cost ~0.2 KiB per printer and per spool.
        self.active_by_printer: dict[str, str | dict[str, None]] = {}
        self.active_by_filament: dict[str, str | dict[str, None]] = {}
        # invariant: the one Running or Paused job of each printer that has one
        self.occupant_by_printer: dict[str, str] = {}
        self.tokens = TokenTable()  # API tokens (farm/tokens.py)
        # invariant (once built): the ids of each table and the jobs by status / printer / filament, in id
        # order (farm/ordered.py). A restore adds everything first and builds them in bulk (build_indexes).
        self._ordered: Ordered | None = Ordered() if indexed else None
        self._job_sequence = 0  # jobs added so far: each job's creation order (restore re-adds them in order)
        self.stats = Stats()

    def put_printer(self, printer: Printer) -> None:
        if self._ordered is not None and printer.id not in self.printers:
            self._ordered.printers.add(printer.id)
        self.printers[printer.id] = printer

    def drop_printer(self, printer_id: str) -> None:
        del self.printers[printer_id]
        if self._ordered is not None:
            self._ordered.printers.remove(printer_id)

    def put_filament(self, filament: Filament) -> None:
        if self._ordered is not None and filament.id not in self.filaments:
            self._ordered.filaments.add(filament.id)
        self.filaments[filament.id] = filament

    def drop_filament(self, filament_id: str) -> None:
        del self.filaments[filament_id]
        if self._ordered is not None:
            self._ordered.filaments.remove(filament_id)

    def add_job(self, job: Job) -> None:
        # The job refers to its printer and spool by the very id strings they hold, and to its status by the
        # constant: one string each instead of copies decoded from every command or snapshot record.
        printer = self.printers.get(job.printer_id)
        if printer is not None:
            job.printer_id = printer.id
        filament = self.filaments.get(job.filament_id)
        if filament is not None:
            job.filament_id = filament.id
        job.status = _STATUSES.get(job.status, job.status)
        self._job_sequence += 1
        job.sequence = self._job_sequence
        if self._ordered is not None and job.job_id not in self.jobs:
            self._ordered.add_job(job.job_id, job.status, job.printer_id, job.filament_id)
        self.jobs[job.job_id] = job
        self.stats.count(job)
        if job.status in ACTIVE:
            self.activate(job)

    def activate(self, job: Job) -> None:
        """Index `job` (Queued, Running or Paused) as holding its printer and filament."""
        _hold(self.active_by_printer, job.printer_id, job.job_id)
        _hold(self.active_by_filament, job.filament_id, job.job_id)
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
            if type(members) is str:
                del by_owner[owner]
            else:
                del members[job.job_id]
                if len(members) == 1:
                    by_owner[owner] = next(iter(members))
        if self.occupant_by_printer.get(job.printer_id) == job.job_id:
            del self.occupant_by_printer[job.printer_id]
            self.printers[job.printer_id].current_job = None

    def moved(self, job: Job, previous: str) -> None:
        """`job`'s status changed from `previous`: the statistics and the status index follow."""
        self.stats.moved(job, previous)
        if self._ordered is not None:
            self._ordered.move_job(job.job_id, previous, job.status)

    def build_indexes(self) -> None:
        """Build the ordered indexes in bulk (one sort each), after a restore added every record."""
        jobs = self.jobs.values()
        self._ordered = Ordered(
            self.printers, self.filaments, ((j.job_id, j.status, j.printer_id, j.filament_id) for j in jobs)
        )

    def ordered(self) -> Ordered:
        if self._ordered is None:
            self.build_indexes()
        assert self._ordered is not None
        return self._ordered

    def sorted_ids(self, table: str) -> Sequence[str]:
        """The ids of `table` ("printers", "filaments", "jobs") in list order; do not mutate the result (it
        changes with the table: copy it to keep it)."""
        return getattr(self.ordered(), table)  # type: ignore[no-any-return]

    def job_ids(self, status: str | None, printer_id: str | None, filament_id: str | None) -> Sequence[str]:
        """The ids of the jobs matching every given filter, in id order (same caveat as sorted_ids)."""
        return self.ordered().job_ids(status, printer_id, filament_id)


def _queue_key(job: Job) -> tuple[int, int, str]:
    """Run order: priority descending, then oldest first."""
    return (-job.priority, job.sequence, job.job_id)


def _hold(by_owner: dict[str, str | dict[str, None]], owner: str, job_id: str) -> None:
    held = by_owner.get(owner)
    if held is None:
        by_owner[owner] = job_id
    elif type(held) is str:
        if held != job_id:
            by_owner[owner] = {held: None, job_id: None}
    else:
        held[job_id] = None


def active_ids(held: str | dict[str, None] | None) -> dict[str, None]:
    """A printer's or spool's active job ids (active_by_printer / active_by_filament value) in order."""
    if held is None:
        return {}
    return {held: None} if type(held) is str else held
