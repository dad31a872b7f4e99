"""Ordered indexes for lists and filters, kept up to date on every apply, so a page costs O(log n + page).

Before, every create threw away a table's sorted id list and the next read sorted the whole table again, and a
filtered job list scanned every job. Here:
- each table's ids are a SortedList (sortedcontainers: insert and delete O(log n), slicing O(log n + k));
- jobs by status: a SortedList per status (few keys, each possibly large);
- jobs by printer and by filament: many keys, each usually small: the value is the job id itself while a key
  has one job, a sorted list from the second on (a list object per printer would cost ~100 bytes each).
A filter on several fields walks the smallest of their indexes and checks the others: O(that index), which is
a printer's or a spool's jobs whenever one of those is given; status alone is O(log n + page).
Jobs are never deleted and never change printer or filament; only their status moves (Store.moved).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence
from typing import Any

from sortedcontainers import SortedList

_NONE: tuple[str, ...] = ()


def _group_add(groups: dict[str, Any], key: str, job_id: str) -> None:
    held = groups.get(key)
    if held is None:
        groups[key] = job_id
    elif type(held) is str:
        groups[key] = [held, job_id] if held < job_id else [job_id, held]
    else:
        insort(held, job_id)


def _group(groups: dict[str, Any], key: str | None) -> Sequence[str]:
    held = groups.get(key)  # type: ignore[arg-type]
    if held is None:
        return _NONE
    return (held,) if type(held) is str else held


class Ordered:
    __slots__ = ("by_filament", "by_printer", "by_status", "filaments", "jobs", "printers")

    def __init__(
        self,
        printers: Iterable[str] = (),
        filaments: Iterable[str] = (),
        jobs: Iterable[tuple[str, str, str, str]] = (),  # (job_id, status, printer_id, filament_id)
    ) -> None:
        """Built in bulk (one sort per index, as after a restore), then kept up to date change by change."""
        self.printers = SortedList(printers)
        self.filaments = SortedList(filaments)
        by_status: dict[str, list[str]] = {}
        by_printer: dict[str, list[str]] = {}
        by_filament: dict[str, list[str]] = {}
        job_ids = []
        for job_id, status, printer_id, filament_id in jobs:
            job_ids.append(job_id)
            by_status.setdefault(status, []).append(job_id)
            by_printer.setdefault(printer_id, []).append(job_id)
            by_filament.setdefault(filament_id, []).append(job_id)
        self.jobs = SortedList(job_ids)
        self.by_status = {status: SortedList(ids) for status, ids in by_status.items()}
        self.by_printer = {key: _compact(ids) for key, ids in by_printer.items()}
        self.by_filament = {key: _compact(ids) for key, ids in by_filament.items()}

    def add_job(self, job_id: str, status: str, printer_id: str, filament_id: str) -> None:
        self.jobs.add(job_id)
        self._status_list(status).add(job_id)
        _group_add(self.by_printer, printer_id, job_id)
        _group_add(self.by_filament, filament_id, job_id)

    def move_job(self, job_id: str, previous: str, status: str) -> None:
        if previous != status:
            self.by_status[previous].remove(job_id)
            self._status_list(status).add(job_id)

    def _status_list(self, status: str) -> SortedList:
        held = self.by_status.get(status)
        if held is None:
            held = self.by_status[status] = SortedList()
        return held

    def job_ids(self, status: str | None, printer_id: str | None, filament_id: str | None) -> Sequence[str]:
        """The ids of the jobs matching every given filter, in id order."""
        candidates: list[Sequence[str]] = []
        if status is not None:
            candidates.append(self.by_status.get(status, _NONE))
        if printer_id is not None:
            candidates.append(_group(self.by_printer, printer_id))
        if filament_id is not None:
            candidates.append(_group(self.by_filament, filament_id))
        if not candidates:
            return self.jobs
        candidates.sort(key=len)
        smallest = candidates[0]
        if len(candidates) == 1:
            return smallest
        others = candidates[1:]
        return [job_id for job_id in smallest if all(_contains(ids, job_id) for ids in others)]


def _contains(ids: Any, job_id: str) -> bool:
    if isinstance(ids, SortedList):
        return job_id in ids
    position = bisect_left(ids, job_id)
    return position < len(ids) and ids[position] == job_id


def _compact(ids: list[str]) -> Any:
    ids.sort()
    return ids[0] if len(ids) == 1 else ids
