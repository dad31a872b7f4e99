"""Which commands a state quota refuses (like etcd's --quota-backend-bytes): the ones that may grow the state.

Past the quota, deletes, revocations and job status changes still apply, so an operator can always make
room and finish the work in progress; so do a printer connection's reports of the same (its state, a
dispatch, a job's end on OctoPrint) and clear-bed, so a connected printer finishes its work in progress too;
everything else may add bytes and is refused (507 quota_exceeded).
"""

from __future__ import annotations

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

# wire tags (farm/codec.py) of the commands that never grow the state
_NOT_GROWING_TAGS = frozenset({3, 6, 8, 16, 17, 18, 20, 42})
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
    """From an encoded command's tag alone (a msgpack fixarray whose first item is a positive fixint)."""
    if len(command) < 2 or not 0x90 <= command[0] <= 0x9F or command[1] >= 0x80:
        return True
    return command[1] not in _NOT_GROWING_TAGS


def quota_exceeded(size: int, quota: int) -> Rejected:
    return Rejected(
        "quota_exceeded",
        f"The farm's state holds {size} bytes, over this cluster's quota of {quota} bytes: only deletes and "
        "job status changes are accepted until it shrinks (delete what is no longer needed).",
    )
