"""One poll's decisions for one connected printer: pure, so every rule is tested without a cluster or a clock.

Input: what the farm's replicated state says about the printer (PrinterView, read on the leader), what
OctoPrint said in this poll (mapping.Observation and the print counts of the file that matters), and what this
connection remembers from its previous polls (Memory, lost with leadership). Output: the actions to take, in
order: replicated proposals (each with its idempotency key) and OctoPrint calls.

Who wins when the farm and OctoPrint disagree about running or paused: whichever changed since the previous
poll; if both or neither did (or this connection has no previous poll: a new leader), the farm, which holds
the operator's committed intent, and OctoPrint is told again (at most once per poll).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from actors.octoprint import mapping
from actors.octoprint.mapping import ConnectionState, Observation, PrintCounts, Reported

MAX_START_ATTEMPTS = 3  # select+print calls for one job before it fails with printer_error
START_SETTLE_POLLS = 3  # polls to wait after a start call before judging that it did not take


@dataclass(frozen=True, slots=True)
class JobView:
    job_id: str
    status: str  # Queued, Running, Paused, Done, Cancelled, Failed
    file: str | None
    weight: int
    filament_type: str
    progress: int | None = None
    used: int | None = None
    baseline: PrintCounts | None = None  # the file's print counts when the job was dispatched


@dataclass(frozen=True, slots=True)
class PrinterView:
    printer_id: str
    maintenance: bool
    bed_clear: bool
    reported: Reported | None  # what a connection last reported (None: nothing yet)
    connection_state: ConnectionState | None
    reported_version: int  # how many reports the farm has applied for this printer
    active: JobView | None  # its Running or Paused job
    next_job: JobView | None  # the head of its queue
    last_ended: JobView | None = None  # its most recently ended job


# --- actions -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportState:
    reported: Reported
    connection_state: ConnectionState
    key: str


@dataclass(frozen=True, slots=True)
class Dispatch:
    """Propose: the job runs on this printer (the replicated decision), recording `baseline`; then, if it
    committed, StartPrint."""

    job_id: str
    file: str
    baseline: PrintCounts
    key: str


@dataclass(frozen=True, slots=True)
class StartPrint:
    job_id: str
    file: str


@dataclass(frozen=True, slots=True)
class Progress:
    job_id: str
    percent: int | None
    used_grams: int | None
    key: str


@dataclass(frozen=True, slots=True)
class EndJob:
    job_id: str
    status: Literal["Done", "Cancelled", "Failed"]
    reason: str | None
    used_grams: int | None
    detail: str
    key: str


@dataclass(frozen=True, slots=True)
class FollowPrinter:
    """Propose the job's status OctoPrint shows (someone pressed pause or resume on the printer)."""

    job_id: str
    status: Literal["Paused", "Running"]
    key: str


@dataclass(frozen=True, slots=True)
class TellPrinter:
    """Carry the farm's committed status to OctoPrint."""

    command: Literal["pause", "resume", "cancel"]
    job_id: str


Action = ReportState | Dispatch | StartPrint | Progress | EndJob | FollowPrinter | TellPrinter


@dataclass(slots=True)
class Memory:
    """What one connection remembers between its polls (a new leader starts with an empty one)."""

    observed: Reported | None = None  # OctoPrint's state at the previous poll
    followed: str | None = None  # the last job seen active (the farm says how it ended: view.last_ended)
    # the farm's status of the active job at the previous poll
    job_status: dict[str, str] = field(default_factory=dict)
    offline_polls: int = 0  # consecutive polls in which OctoPrint said its printer is Offline
    start_attempts: dict[str, int] = field(default_factory=dict)
    polls_since_start: dict[str, int] = field(default_factory=dict)


def report_for(view: PrinterView, reported: Reported, state: ConnectionState) -> list[Action]:
    """A ReportState when the farm's view differs from what the connection sees."""
    if view.reported == reported and view.connection_state == state:
        return []
    key = mapping.reported_key(view.printer_id, view.reported_version, reported, state)
    return [ReportState(reported, state, key)]


def decide(
    view: PrinterView, seen: Observation, counts: PrintCounts | None, memory: Memory
) -> list[Action]:
    """The actions for one successful poll. `counts` are the print counts of the file that matters now (the
    active job's, else the queue head's; None if OctoPrint has no such file). Updates `memory`."""
    # OctoPrint answering "Offline" (its serial link to the printer is down) counts like a failed poll:
    # the printer is offline from the third such poll in a row, not at the first
    memory.offline_polls = memory.offline_polls + 1 if seen.reported == "offline" else 0
    if seen.reported != "offline" or memory.offline_polls >= mapping.OFFLINE_AFTER_FAILED_POLLS:
        actions = report_for(view, seen.reported, "connected")
    else:
        actions = []
    job = view.active
    if job is not None:
        actions += _follow(job, seen, counts, memory, view.reported_version)
    else:
        actions += _cancel_leftover(view, seen)
        dispatch = _dispatch(view, seen, counts)
        if dispatch is not None:
            actions.append(dispatch)
    memory.observed = seen.reported
    memory.job_status = {job.job_id: job.status} if job is not None else {}
    if job is not None:
        memory.followed = job.job_id
    return actions


def _follow(
    job: JobView, seen: Observation, counts: PrintCounts | None, memory: Memory, version: int
) -> list[Action]:
    if job.file is None:
        return []  # run by hand: the farm's operator reports it, the connection only reports the printer
    if job.baseline is None:
        # put Running by an operator, not dispatched: follow its progress if OctoPrint prints its file, but
        # neither start nor end it (without a baseline nothing tells which print of the file is this job's)
        if seen.reported == "printing" and seen.file == job.file:
            return _progress(job, seen)
        return []
    baseline = job.baseline
    now = counts or baseline
    step = mapping.after_decision(seen, job.file, baseline, now)
    if step == "ended" or (step == "wait" and seen.reported == "error"):
        ending = mapping.print_ending(seen, baseline, now)
        if ending is None:
            return []
        used = job.used if ending.status != "Done" else None
        key = mapping.end_key(job.job_id, ending.status)
        return [EndJob(job.job_id, ending.status, ending.reason, used, ending.detail, key)]
    if step == "start":
        return _start_again(job, memory)
    if step != "adopt":
        return []
    memory.start_attempts.pop(job.job_id, None)
    memory.polls_since_start.pop(job.job_id, None)
    return _progress(job, seen) + _pause_or_resume(job, seen, memory, version)


def _progress(job: JobView, seen: Observation) -> list[Action]:
    """A Progress when OctoPrint's completion or grams went up (the farm refuses them going down)."""
    percent = mapping.progress_percent(seen.completion)
    grams = mapping.used_grams(seen, job.filament_type, job.weight)
    percent = percent if percent is not None and percent > (job.progress or -1) else None
    grams = grams if grams is not None and grams > (job.used or 0) else None
    if percent is None and grams is None:
        return []
    return [Progress(job.job_id, percent, grams, mapping.progress_key(job.job_id, percent, grams))]


def _pause_or_resume(job: JobView, seen: Observation, memory: Memory, version: int) -> list[Action]:
    octoprint_paused = seen.reported == "paused"
    farm_paused = job.status == "Paused"
    if octoprint_paused == farm_paused:
        return []
    # only a move between printing and paused is someone at the printer: idle -> printing is our own start
    printer_changed = memory.observed in ("printing", "paused") and memory.observed != seen.reported
    farm_changed = memory.job_status.get(job.job_id) not in (None, job.status)
    if printer_changed and not farm_changed:
        status: Literal["Paused", "Running"] = "Paused" if octoprint_paused else "Running"
        # the key names the committed state it was decided from (the printer's report count moves with
        # every pause or resume seen on it): the same change seen twice is one, a later pause is another
        key = f"{mapping.KEY_PREFIX}{job.job_id}:follow:{job.status}->{status}:{version}"
        return [FollowPrinter(job.job_id, status, key)]
    return [TellPrinter("pause" if farm_paused else "resume", job.job_id)]


def _start_again(job: JobView, memory: Memory) -> list[Action]:
    """The job is Running in the farm, OctoPrint is idle and has not printed its file since the decision.
    If no leader ever saw it print (no progress past 0 reported), the decision's leader died before (or while)
    telling OctoPrint: start it, waiting a few polls after each call for OctoPrint to show it printing; after
    MAX_START_ATTEMPTS the job fails. If it was seen printing, OctoPrint lost the print without finishing
    or cancelling it (a restart mid-print): printing again on a half-printed bed would be wrong: it fails."""
    job_id = job.job_id
    end_key = mapping.end_key(job_id, "Failed")
    if (job.progress or 0) > 0 or (job.used or 0) > 0:
        detail = f"OctoPrint stopped printing {job.file} without finishing it (was it restarted?)"
        return [EndJob(job_id, "Failed", "printer_error", job.used, detail, end_key)]
    if job.status != "Running":
        return []
    attempts = memory.start_attempts.get(job_id, 0)
    if attempts:
        waited = memory.polls_since_start.get(job_id, 0) + 1
        memory.polls_since_start[job_id] = waited
        if waited < START_SETTLE_POLLS:
            return []
    if attempts >= MAX_START_ATTEMPTS:
        detail = f"OctoPrint did not start printing {job.file} after {attempts} attempts"
        return [EndJob(job_id, "Failed", "printer_error", job.used, detail, end_key)]
    memory.start_attempts[job_id] = attempts + 1
    memory.polls_since_start[job_id] = 0
    assert job.file is not None
    return [StartPrint(job_id, job.file)]


def _cancel_leftover(view: PrinterView, seen: Observation) -> list[Action]:
    """The farm ended a job (an operator cancelled it) that OctoPrint is still printing: cancel it there."""
    ended = view.last_ended
    if ended is None or ended.file is None or ended.status == "Done":
        return []
    if seen.reported in ("printing", "paused") and seen.file == ended.file:
        return [TellPrinter("cancel", ended.job_id)]
    return []


def _dispatch(view: PrinterView, seen: Observation, counts: PrintCounts | None) -> Dispatch | None:
    """API.md: when its printer is idle, not in maintenance, its bed clear, and its queue's first job has a
    `file`, the connection starts that job."""
    job = view.next_job
    if job is None or job.file is None or view.maintenance or not view.bed_clear:
        return None
    if seen.reported != "operational":
        return None
    return Dispatch(job.job_id, job.file, counts or PrintCounts(0, 0), mapping.start_key(job.job_id))


def failed_poll(view: PrinterView, failures: int, unauthorized: bool) -> list[Action]:
    """What a failed poll changes: unauthorized at once (we cannot see the printer: offline), unreachable from
    the third consecutive failure."""
    if unauthorized:
        return report_for(view, "offline", "unauthorized")
    reported = mapping.connection_reported(failures, None)
    if reported is None:
        return []
    return report_for(view, reported, "unreachable")
