"""Which commands a state quota refuses (like etcd's --quota-backend-bytes): the ones that may grow the state.

Past the quota, deletes, revocations and job status changes still apply, so an operator can always make
room and finish the work in progress; so do a printer connection's reports of the same (its state, a
dispatch, a job's end on OctoPrint) and clear-bed, so a connected printer finishes its work in progress too;
everything else may add bytes and is refused (507 quota_exceeded).
"""

from __future__ import annotations

from farm.codec import encoded_type
from farm.commands import (
    ClearBed,
    DeleteFilament,
    DeletePrinter,
    DispatchJob,
    EndJobFromPrinter,
    ReportPrinterState,
    RevokeToken,
    SetJobStatus,
)
from farm.results import Rejected

# the commands that never grow the state
NOT_GROWING: frozenset[type] = frozenset(
    {
        DeletePrinter,
        DeleteFilament,
        SetJobStatus,
        RevokeToken,
        ReportPrinterState,
        DispatchJob,
        EndJobFromPrinter,
        ClearBed,
    }
)


def may_grow(command: bytes) -> bool:
    """From an encoded command's tag alone (farm.codec.encoded_type): anything unknown may."""
    return encoded_type(command) not in NOT_GROWING


def quota_exceeded(size: int, quota: int) -> Rejected:
    return Rejected(
        "quota_exceeded",
        f"The farm's state holds {size} bytes, over this cluster's quota of {quota} bytes: only deletes and "
        "job status changes are accepted until it shrinks (delete what is no longer needed).",
    )
