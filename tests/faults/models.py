"""Sequential specifications of printfarm's jobs and filaments, for the linearizability checker.

Both follow API.md: the job status transition table, and the filament ledger (a Queued job reserves its
weight; grams reported by progress while it prints are consumed at once; Done consumes the rest; Cancelled /
Failed consume the larger of the two reports and release the rest), and the bed rule (a job ending Done or
Failed leaves its printer's bed not clear: no job starts there until the bed is cleared).
Where a request could legally be refused for more than one reason (the API does not fix the order of its
checks), every applicable refusal is accepted; the state is unchanged by any refusal.

- JobModel: one partition per job, a status register. It cannot see the filament or the printer, so it
  accepts the refusals that depend on them (unknown_filament, insufficient_filament, printer_busy, ...)
  without judging.
- FilamentModel: one partition per filament holding its jobs too, so it judges the ledger exactly:
  reservations, consumption and refusals. With `exclusive_printers` (the workload never shares a printer
  between filaments) it also judges printer_busy exactly; with `judge_beds` also bed_not_clear (it holds its
  printers' beds, and ClearBed operations belong to it). Without, a start may be refused bed_not_clear or
  not: the fault runs leave clear-beds out of the history, whose indeterminate copies would multiply the
  search without telling anything about the ledger.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from tests.faults.linearizability import Operation

TRANSITIONS: dict[str, frozenset[str]] = {
    "Queued": frozenset({"Running", "Cancelled"}),
    "Running": frozenset({"Done", "Cancelled", "Paused", "Failed"}),
    "Paused": frozenset({"Running", "Cancelled", "Failed"}),
    "Done": frozenset(),
    "Cancelled": frozenset(),
    "Failed": frozenset(),
}
STATUSES = tuple(TRANSITIONS)
ACTIVE = frozenset({"Queued", "Running", "Paused"})  # these hold a reservation
OCCUPYING = frozenset({"Running", "Paused"})  # these hold their printer


# ---- operation inputs ----


@dataclass(frozen=True, slots=True)
class CreateFilament:
    filament_id: str
    total: int
    remaining: int


@dataclass(frozen=True, slots=True)
class ReadFilament:
    filament_id: str


@dataclass(frozen=True, slots=True)
class CreateJob:
    job_id: str
    filament_id: str
    printer_id: str
    weight: int


@dataclass(frozen=True, slots=True)
class SetStatus:
    job_id: str
    filament_id: str  # the filament the job was created on: the filament partition it belongs to
    status: str
    used_grams: int | None = None


@dataclass(frozen=True, slots=True)
class ReportUsage:
    """PUT .../progress with used_grams: the grams a Running or Paused job has used so far."""

    job_id: str
    filament_id: str
    used_grams: int


@dataclass(frozen=True, slots=True)
class ClearBed:
    printer_id: str
    filament_id: str  # the filament whose (exclusive) printer it is: the partition it belongs to


@dataclass(frozen=True, slots=True)
class ReadJob:
    job_id: str
    filament_id: str


@dataclass(frozen=True, slots=True)
class ReadSnapshot:
    """A filament and the given jobs as one node's copy showed them at one instant (a list request).

    One operation rather than one read per job: reads that all overlap would let the search try every
    subset of them, which is exponential."""

    filament_id: str
    job_ids: tuple[str, ...]


JOB_INPUTS = (CreateJob, SetStatus, ReadJob, ReportUsage)
READS = (ReadFilament, ReadJob, ReadSnapshot)


# ---- operation outputs ----


@dataclass(frozen=True, slots=True)
class Refused:
    code: str


@dataclass(frozen=True, slots=True)
class Cleared:
    """A clear-bed's 204."""


@dataclass(frozen=True, slots=True)
class JobView:
    status: str
    used: int = 0


@dataclass(frozen=True, slots=True)
class FilamentView:
    total: int
    remaining: int
    reserved: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    filament: FilamentView | Refused
    jobs: tuple[JobView | Refused, ...]


# ---- states ----


@dataclass(frozen=True, slots=True)
class Job:
    status: str
    weight: int
    used: int = 0
    printer_id: str = ""

    def view(self) -> JobView:
        return JobView(self.status, self.used)


class Jobs:
    """An immutable job id -> Job map whose hash is kept up to date incrementally.

    The search hashes a state at every step; rehashing a spool's hundreds of jobs each time dominated the
    checker's run time on long histories."""

    __slots__ = ("_hash", "_map")

    def __init__(self, items: dict[str, Job] | None = None, hash_: int = 0) -> None:
        self._map: dict[str, Job] = items if items is not None else {}
        self._hash = hash_

    def get(self, job_id: str) -> Job | None:
        return self._map.get(job_id)

    def set(self, job_id: str, job: Job) -> Jobs:
        items = dict(self._map)
        old = items.get(job_id)
        hash_ = self._hash ^ hash((job_id, job))
        if old is not None:
            hash_ ^= hash((job_id, old))
        items[job_id] = job
        return Jobs(items, hash_)

    def items(self) -> Iterable[tuple[str, Job]]:
        return self._map.items()

    def __len__(self) -> int:
        return len(self._map)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Jobs) and self._hash == other._hash and self._map == other._map

    def __repr__(self) -> str:
        return f"Jobs({self._map!r})"


EMPTY_JOBS = Jobs()


@dataclass(frozen=True, slots=True)
class Filament:
    total: int
    remaining: int
    reserved: int
    jobs: Jobs = EMPTY_JOBS
    dirty_beds: frozenset[str] = frozenset()  # its printers whose last job ended Done or Failed

    def job(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def with_job(self, job_id: str, job: Job) -> Jobs:
        return self.jobs.set(job_id, job)

    def view(self) -> FilamentView:
        return FilamentView(self.total, self.remaining, self.reserved)


def transition(job: Job, status: str, used_grams: int | None) -> Job | None:
    """The job after a successful change to `status`, or None when the table forbids it."""
    if status not in TRANSITIONS[job.status]:
        return None
    if status == "Done":
        return replace(job, status=status, used=job.weight)
    if status in ("Cancelled", "Failed"):
        return replace(job, status=status, used=max(used_grams or 0, job.used))
    return replace(job, status=status)


def usage_refusal(job: Job, used_grams: int) -> str | None:
    """Why a usage report is refused (the API's code), or None."""
    if job.status not in OCCUPYING:
        return "invalid_transition"
    if not job.used <= used_grams <= job.weight:
        return "invalid_field"
    return None


def _is_read_only(input: Any, output: Any) -> bool:
    return isinstance(input, READS) or isinstance(output, Refused)


class JobModel:
    """Per job: absent (None) or a Job. Partitions by job id; filament operations are not its business."""

    def key(self, input: Any) -> Hashable | None:
        return input.job_id if isinstance(input, JOB_INPUTS) else None

    def init(self, key: Hashable) -> Hashable:
        return None

    def is_read_only(self, input: Any, output: Any) -> bool:
        return _is_read_only(input, output)

    def outcomes(self, state: Hashable, input: Any) -> Iterable[tuple[Any, Hashable]]:
        job: Job | None = state  # type: ignore[assignment]
        if isinstance(input, ReadJob):
            return [(Refused("not_found") if job is None else job.view(), job)]
        if isinstance(input, CreateJob):
            # the filament and printer are outside this partition: any of their refusals may be right
            unseen = [(Refused(code), job) for code in ("unknown_printer", "unknown_filament",
                                                         "insufficient_filament")]
            if job is not None:
                return [(Refused("already_exists"), job), *unseen]
            created = Job("Queued", input.weight, 0, input.printer_id)
            return [(created.view(), created), *unseen]
        if isinstance(input, SetStatus):
            if job is None:
                return [(Refused("not_found"), None)]
            after = transition(job, input.status, input.used_grams)
            results: list[tuple[Any, Hashable]] = []
            if after is None:
                results.append((Refused("invalid_transition"), job))
            else:
                results.append((after.view(), after))
            if input.status == "Running" and job.status != "Running":
                results.append((Refused("printer_busy"), job))  # another job may hold the printer
            if input.status == "Running" and job.status == "Queued":
                results.append((Refused("bed_not_clear"), job))  # another job may have left a print
            return results
        if isinstance(input, ReportUsage):
            if job is None:
                return [(Refused("not_found"), None)]
            refusal = usage_refusal(job, input.used_grams)
            if refusal is not None:
                return [(Refused(refusal), job)]
            reported = replace(job, used=input.used_grams)
            return [(reported.view(), reported)]
        raise TypeError(f"not a job operation: {input!r}")


class FilamentModel:
    """Per filament: absent (None) or a Filament with its jobs. Judges the ledger exactly."""

    def __init__(
        self, printers: Iterable[str], exclusive_printers: bool = True, judge_beds: bool = False
    ) -> None:
        self.printers = frozenset(printers)
        self.exclusive_printers = exclusive_printers
        self.judge_beds = judge_beds

    def key(self, input: Any) -> Hashable | None:
        if isinstance(input, ClearBed) and not self.judge_beds:
            return None
        return getattr(input, "filament_id", None)

    def init(self, key: Hashable) -> Hashable:
        return None

    def is_read_only(self, input: Any, output: Any) -> bool:
        return _is_read_only(input, output)

    def outcomes(self, state: Hashable, input: Any) -> Iterable[tuple[Any, Hashable]]:
        fil: Filament | None = state  # type: ignore[assignment]
        if isinstance(input, CreateFilament):
            if fil is not None:
                return [(Refused("already_exists"), fil)]
            created = Filament(input.total, input.remaining, 0)
            return [(created.view(), created)]
        if isinstance(input, ReadFilament):
            return [(Refused("not_found") if fil is None else fil.view(), fil)]
        if isinstance(input, ReadJob):
            job = None if fil is None else fil.job(input.job_id)
            return [(Refused("not_found") if job is None else job.view(), fil)]
        if isinstance(input, ReadSnapshot):
            views = []
            for job_id in input.job_ids:
                job = None if fil is None else fil.job(job_id)
                views.append(Refused("not_found") if job is None else job.view())
            filament = Refused("not_found") if fil is None else fil.view()
            return [(Snapshot(filament, tuple(views)), fil)]
        if isinstance(input, CreateJob):
            return self._create_job(fil, input)
        if isinstance(input, SetStatus):
            return self._set_status(fil, input)
        if isinstance(input, ReportUsage):
            return self._report_usage(fil, input)
        if isinstance(input, ClearBed):
            if fil is None:
                return [(Cleared(), fil)]  # its printer exists (set up outside the history): a clear bed
            return [(Cleared(), replace(fil, dirty_beds=fil.dirty_beds - {input.printer_id}))]
        raise TypeError(f"not a filament operation: {input!r}")

    def _report_usage(self, fil: Filament | None, op: ReportUsage) -> list[tuple[Any, Hashable]]:
        job = None if fil is None else fil.job(op.job_id)
        if fil is None or job is None:
            return [(Refused("not_found"), fil)]
        refusal = usage_refusal(job, op.used_grams)
        if refusal is not None:
            return [(Refused(refusal), fil)]
        more = op.used_grams - job.used  # consumed at once, out of the job's own reservation
        after = replace(job, used=op.used_grams)
        return [(after.view(), replace(fil, remaining=fil.remaining - more, reserved=fil.reserved - more,
                                       jobs=fil.with_job(op.job_id, after)))]

    def _create_job(self, fil: Filament | None, op: CreateJob) -> list[tuple[Any, Hashable]]:
        refusals = []
        if fil is None:
            refusals.append("unknown_filament")
        else:
            if fil.job(op.job_id) is not None:
                refusals.append("already_exists")
            if op.weight > fil.remaining - fil.reserved:
                refusals.append("insufficient_filament")
        if op.printer_id not in self.printers:
            refusals.append("unknown_printer")
        if refusals:
            return [(Refused(code), fil) for code in refusals]
        assert fil is not None
        job = Job("Queued", op.weight, 0, op.printer_id)
        after = replace(fil, reserved=fil.reserved + op.weight, jobs=fil.with_job(op.job_id, job))
        return [(job.view(), after)]

    def _set_status(self, fil: Filament | None, op: SetStatus) -> list[tuple[Any, Hashable]]:
        job = None if fil is None else fil.job(op.job_id)
        if fil is None or job is None:
            return [(Refused("not_found"), fil)]
        refusals = []
        after = transition(job, op.status, op.used_grams)
        if after is None:
            refusals.append("invalid_transition")
        busy = any(
            other.printer_id == job.printer_id and other.status in OCCUPYING
            for other_id, other in fil.jobs.items()
            if other_id != op.job_id
        )
        if op.status == "Running" and busy:
            refusals.append("printer_busy")
        starts = op.status == "Running" and job.status == "Queued"
        if starts and self.judge_beds and job.printer_id in fil.dirty_beds:
            refusals.append("bed_not_clear")
        results: list[tuple[Any, Hashable]] = [(Refused(code), fil) for code in refusals]
        if refusals or after is None:
            return results
        if op.status == "Running" and job.status != "Running" and not self.exclusive_printers:
            results.append((Refused("printer_busy"), fil))  # a job on another filament may hold the printer
        if starts and (not self.judge_beds or not self.exclusive_printers):
            results.append((Refused("bed_not_clear"), fil))  # a bed this model does not follow
        remaining, reserved, dirty = fil.remaining, fil.reserved, fil.dirty_beds
        if job.status in ACTIVE and after.status not in ACTIVE:
            reserved -= job.weight - job.used  # what progress consumed already left the reservation
            remaining -= after.used - job.used
        if after.status in ("Done", "Failed"):
            dirty = dirty | {job.printer_id}
        return [*results, (after.view(), replace(fil, remaining=remaining, reserved=reserved,
                                                  jobs=fil.with_job(op.job_id, after), dirty_beds=dirty))]


def reachable(source: str, target: str) -> bool:
    """Whether a job in `source` can ever be in `target` (zero or more transitions)."""
    seen, frontier = {source}, [source]
    while frontier:
        for after in TRANSITIONS[frontier.pop()]:
            if after not in seen:
                seen.add(after)
                frontier.append(after)
    return target in seen


def drop_unapplied(ops: list[Operation], final: dict[str, JobView | Refused]) -> list[Operation]:
    """Removes indeterminate writes that provably changed nothing before the final reads.

    `final` maps a job id to what every node showed for it at the end, after every other operation had
    returned or been given up. An indeterminate write that had not taken effect by then either never will
    or takes effect after every observation; either way the history is linearizable with it exactly when it
    is linearizable without it (an operation of unknown output can always go last). Dropping such writes
    keeps the search from trying, at every step, both "it happened" and "it did not".

    Provably not applied by the end: a creation of a job that does not exist at the end; a status change
    to T when the final status cannot be reached from T, or when it is the final (terminal) status but
    with another used weight than it reported unless a usage report could explain the difference (the job
    shows the larger of its reports), or when another, acknowledged
    operation is the one that made the job T (a terminal status is entered once); a usage report of more
    grams than the job shows at the end (used never goes down).
    """
    acknowledged_terminal = {
        (op.input.job_id, op.output.status)
        for op in ops
        if isinstance(op.input, SetStatus) and isinstance(op.output, JobView)
        and op.output.status not in ACTIVE
    }
    reports = {(op.input.job_id, op.input.used_grams) for op in ops if isinstance(op.input, ReportUsage)}
    kept = []
    for op in ops:
        seen = final.get(getattr(op.input, "job_id", ""))
        writes = (CreateJob, SetStatus, ReportUsage)
        if op.ret is not None or seen is None or not isinstance(op.input, writes):
            kept.append(op)
            continue
        if isinstance(seen, Refused):
            continue  # the job does not exist at the end: neither its creation nor a change took effect
        if isinstance(op.input, ReportUsage):
            if op.input.used_grams > seen.used:
                continue
            kept.append(op)
            continue
        if isinstance(op.input, SetStatus):
            target, used = op.input.status, op.input.used_grams or 0
            if not reachable(target, seen.status):
                continue
            if target == seen.status and target not in ACTIVE:
                if (op.input.job_id, target) in acknowledged_terminal:
                    continue
                if target != "Done" and used != seen.used and (op.input.job_id, seen.used) not in reports:
                    continue
        kept.append(op)
    return kept
