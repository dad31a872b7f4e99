"""What OctoPrint's answers mean for the farm: pure functions, no I/O, no clock.

Inputs are the decoded JSON of `GET /api/job`, `GET /api/printer` (or its 409 when the printer is not
operational) and `GET /api/files/local/NAME`, exactly as OctoPrint 1.11 answers them (see the recorded answers
in tests/octoprint/fixtures/). Outputs are our words: the printer's reported status, a job's progress and used
grams, how a print ended, and the idempotency keys that make a report apply once however often it is proposed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

# What a connection reports about its printer; the farm derives `status` from it and the printer's jobs.
Reported = Literal["operational", "printing", "paused", "error", "offline"]
ConnectionState = Literal["connected", "unreachable", "unauthorized"]

FILAMENT_DIAMETER_MM = 1.75
DENSITY_G_PER_CM3 = {"PLA": 1.24, "PETG": 1.27, "ABS": 1.04, "ASA": 1.07, "TPU": 1.21}
DEFAULT_DENSITY = 1.24
OFFLINE_AFTER_FAILED_POLLS = 3

# OctoPrint's state texts (octoprint.util.comm.MachineCom.getStateString) grouped by what they mean here.
_BUSY = ("Printing", "Starting", "Resuming", "Finishing", "Cancelling", "Sending file to SD", "Transferring")
_PAUSED = ("Paused", "Pausing")
_ERROR = ("Error", "Offline after error")


class Observation(NamedTuple):
    """One poll of /api/job (+ /api/printer), in our terms."""

    reported: Reported
    state_text: str  # OctoPrint's own words, for logs and details
    file: str | None  # the selected file's name (local storage), if any
    completion: float | None  # percent, None when no print is under way
    filament_mm: float | None  # the selected file's analysed filament length (all tools)
    error: str | None  # OctoPrint's error text, if it reports one


class PrintCounts(NamedTuple):
    """How often OctoPrint has finished printing a file, from its `prints` metadata."""

    success: int
    failure: int

    @property
    def total(self) -> int:
        return self.success + self.failure


class Ending(NamedTuple):
    status: Literal["Done", "Cancelled", "Failed"]
    reason: str | None  # the failure reason for Failed
    detail: str


def reported_from_state(text: str) -> Reported:
    if text == "Operational":
        return "operational"
    if text.startswith(_PAUSED):
        return "paused"
    if text.startswith(_BUSY):
        return "printing"
    if text.startswith(_ERROR):
        return "error"
    return "offline"  # Offline, Closed, Connecting, Detecting serial connection, Unknown...


def reported_from_flags(flags: Mapping[str, Any]) -> Reported | None:
    """/api/printer's flags, when it answered 200; None when they say nothing decisive."""
    if flags.get("error") or (flags.get("closedOrError") and not flags.get("operational")):
        return "error"
    if flags.get("paused") or flags.get("pausing"):
        return "paused"
    if flags.get("printing") or flags.get("cancelling") or flags.get("finishing") or flags.get("resuming"):
        return "printing"
    if flags.get("operational"):
        return "operational"
    return None


def observe(job: Mapping[str, Any], printer: Mapping[str, Any] | None = None) -> Observation:
    """Read one /api/job answer, refined by /api/printer's flags when it answered 200 (`printer` None when it
    answered 409 "Printer is not operational": the job's state text then says why)."""
    text = str(job.get("state") or "Unknown")
    reported = reported_from_state(text)
    if printer is not None:
        flags = (printer.get("state") or {}).get("flags") or {}
        reported = reported_from_flags(flags) or reported
    info = job.get("job") or {}
    file_name = (info.get("file") or {}).get("name")
    progress = job.get("progress") or {}
    completion = progress.get("completion")
    error = job.get("error") or ((printer or {}).get("state") or {}).get("error") or None
    return Observation(
        reported=reported,
        state_text=text,
        file=file_name if isinstance(file_name, str) and file_name else None,
        completion=float(completion) if isinstance(completion, int | float) else None,
        filament_mm=filament_length(info.get("filament")),
        error=str(error) if error else None,
    )


def filament_length(filament: Any) -> float | None:
    """The summed length of every tool in OctoPrint's `filament` object ({"tool0": {"length": mm}}); None if
    the file is not analysed yet."""
    if not isinstance(filament, Mapping):
        return None
    lengths = [
        tool["length"]
        for tool in filament.values()
        if isinstance(tool, Mapping) and isinstance(tool.get("length"), int | float)
    ]
    return float(sum(lengths)) if lengths else None


def print_counts(file_info: Mapping[str, Any] | None) -> PrintCounts:
    prints = (file_info or {}).get("prints") or {}
    return PrintCounts(int(prints.get("success") or 0), int(prints.get("failure") or 0))


def density(filament_type: str) -> float:
    return DENSITY_G_PER_CM3.get(filament_type.strip().upper(), DEFAULT_DENSITY)


def grams_from_length(length_mm: float, filament_type: str) -> int:
    """grams = length (mm) * π * (1.75 mm / 2)² / 1000 * density (g/cm³), rounded half up to whole grams."""
    cubic_cm = max(length_mm, 0.0) * math.pi * (FILAMENT_DIAMETER_MM / 2) ** 2 / 1000
    return math.floor(cubic_cm * density(filament_type) + 0.5)


def progress_percent(completion: float | None) -> int | None:
    """OctoPrint's completion as a whole percent (floored: 100 only once the print has really finished)."""
    if completion is None:
        return None
    return max(0, min(100, math.floor(completion)))


def used_grams(observation: Observation, filament_type: str, job_weight: int) -> int | None:
    """The grams used so far: the file's analysed filament * completion, never more than the job's weight
    (the farm refuses more). None when OctoPrint does not know the length or the completion."""
    if observation.filament_mm is None or observation.completion is None:
        return None
    share = max(0.0, min(100.0, observation.completion)) / 100
    return min(grams_from_length(observation.filament_mm * share, filament_type), job_weight)


def print_ending(observation: Observation, baseline: PrintCounts, now: PrintCounts) -> Ending | None:
    """How OctoPrint ended the print of a job's file, given the file's counts when the job was started
    (`baseline`) and now; None while it has not ended. A finished print adds a success; a cancelled or failed
    one a failure (OctoPrint records both as failures: the state tells them apart)."""
    if observation.reported in ("printing", "paused"):
        return None
    if now.success > baseline.success:
        return Ending("Done", None, "OctoPrint finished printing the file")
    if observation.reported == "error":
        why = observation.error or observation.state_text
        return Ending("Failed", "printer_error", f"OctoPrint reports an error: {why}")
    if now.failure > baseline.failure:
        return Ending("Cancelled", None, "the print was cancelled on OctoPrint")
    return None


DispatchStep = Literal["start", "adopt", "wait", "ended"]


def after_decision(
    observation: Observation, file: str, baseline: PrintCounts, now: PrintCounts
) -> DispatchStep:
    """What to do about a job that the farm has decided to run (Running, started_at set) on this printer:
    - "adopt": OctoPrint is printing (or paused on) that file: follow it;
    - "ended": it printed the file since the decision (its counts moved): end the job by print_ending();
    - "start": it is idle and has not printed the file since the decision: select and print it (once);
    - "wait": anything else (busy with another file, offline, error): look again at the next poll."""
    if observation.reported in ("printing", "paused"):
        return "adopt" if observation.file == file else "wait"
    if now.total > baseline.total:
        return "ended"
    if observation.reported == "operational":
        return "start"
    return "wait"


def connection_reported(consecutive_failures: int, last: Reported | None) -> Reported | None:
    """The printer's reported status while polls fail: unchanged for the first failures, offline from the
    third on (a single lost answer must not flap the farm's view)."""
    if consecutive_failures >= OFFLINE_AFTER_FAILED_POLLS:
        return "offline"
    return last


# --- idempotency keys: derived only from what is reported and the replicated state it is reported against,
# so a retried proposal, or a second leader seeing the same thing, lands on the same key and applies once.
# They start with the farm's internal prefix ("~", which clients may not use: no client can take one over)
# and "octoprint/" ("/" is in no node id, so no key the bridge makes up is one of these). The internal table
# forgets sooner than the client one; every command here is also idempotent by state (a second Done, start
# or report of the same value is refused or changes nothing), so a forgotten key costs nothing.
KEY_PREFIX = "~octoprint/"


def start_key(job_id: str) -> str:
    return f"{KEY_PREFIX}{job_id}:start"  # a job starts from Queued once


def progress_key(job_id: str, percent: int | None, grams: int | None) -> str:
    return f"{KEY_PREFIX}{job_id}:progress:{percent}:{grams}"  # progress never goes down: one key per value


def end_key(job_id: str, status: str) -> str:
    return f"{KEY_PREFIX}{job_id}:end:{status}"  # a job ends once


def reported_key(printer_id: str, version: int, reported: Reported, connection: ConnectionState) -> str:
    """`version` is the printer's count of reported changes in the replicated state: the same change from the
    same committed state is one key; the same value later (idle -> printing -> idle) is a new one."""
    return f"{KEY_PREFIX}{printer_id}:reported:{version}:{reported}:{connection}"
