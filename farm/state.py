"""FarmState: the replicated state machine. Every node applies the same log entries in the same order and
so holds the same farm; nothing here reads a clock, a socket, a disk or a random number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from farm import filaments, jobs, printers, reads, workflow
from farm.codec import CommandCodecError, decode_proposal
from farm.commands import (
    ClearBed,
    CreateFilament,
    CreateJob,
    CreatePrinter,
    DeleteFilament,
    DeletePrinter,
    ReportProgress,
    RetryJob,
    SetJobStatus,
    UpdateFilament,
    UpdateJob,
    UpdatePrinter,
)
from farm.idempotency import CAPACITY, INTERNAL_CAPACITY, WINDOW, IdempotencyKeys, fingerprint
from farm.queries import Query
from farm.results import Applied, Ok, Outcome, Rejected
from farm.snapshot import decode_snapshot, encode_snapshot
from farm.store import Store
from farm.validation import check_command

_HANDLERS: dict[type, Callable[[Store, Any, int, int], Applied]] = {
    CreatePrinter: printers.create_printer,
    UpdatePrinter: printers.update_printer,
    DeletePrinter: printers.delete_printer,
    CreateFilament: filaments.create_filament,
    UpdateFilament: filaments.update_filament,
    DeleteFilament: filaments.delete_filament,
    CreateJob: jobs.create_job,
    SetJobStatus: jobs.set_job_status,
    ClearBed: workflow.clear_bed,
    UpdateJob: workflow.update_job,
    ReportProgress: workflow.report_progress,
    RetryJob: workflow.retry_job,
}


class FarmState:
    __slots__ = ("_idempotency", "_store")

    def __init__(
        self,
        *,
        idempotency_window: int = WINDOW,
        idempotency_capacity: int = CAPACITY,
        idempotency_internal_capacity: int = INTERNAL_CAPACITY,
    ) -> None:
        """An empty farm. The idempotency limits are replicated semantics: change them only in tests."""
        self._store = Store()
        self._idempotency = IdempotencyKeys(
            idempotency_window, idempotency_capacity, idempotency_internal_capacity
        )

    def apply(self, index: int, data: bytes) -> Applied:
        """Apply log entry `index`. Never raises; a refused or malformed command changes nothing."""
        if not data:
            return Applied(Ok(None))  # the leader's no-op entry at the start of its term
        try:
            proposal = decode_proposal(data)
        except CommandCodecError as exc:
            return Applied(Rejected("malformed_command", f"log entry {index} is not a farm command: {exc}"))
        self._idempotency.expire(index)
        key = proposal.idempotency_key
        if key is not None:
            command_fingerprint = fingerprint(proposal.encoded_command)
            first = self._idempotency.recall(key, command_fingerprint)
            if first is not None:  # the first outcome, or the refusal of a key reused for another command
                return Applied(first)
        command = proposal.command
        refusal = check_command(command)
        applied = (
            Applied(refusal)
            if refusal is not None
            else _HANDLERS[type(command)](self._store, command, index, proposal.at_ms)
        )
        if key is not None:
            self._idempotency.remember(key, index, command_fingerprint, applied.outcome)
        return applied

    def query(self, query: Query) -> Outcome:
        return reads.answer(self._store, query)

    def snapshot(self) -> bytes:
        """The whole state, both idempotency tables included, as msgpack."""
        return encode_snapshot(self._store, self._idempotency)

    @classmethod
    def restore(cls, data: bytes) -> FarmState:
        """The state `snapshot()` wrote (b"" is an empty farm); raises SnapshotError on anything else."""
        state = cls()
        if data:
            state._store = decode_snapshot(data, state._idempotency)
        return state
