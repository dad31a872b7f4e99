"""A farm driven the way a node drives it: every command becomes a proposal at the next log index."""

from __future__ import annotations

from typing import Any

from farm.codec import encode_command, encode_proposal
from farm.commands import Command, CreateFilament, CreateJob, CreatePrinter
from farm.queries import GetFilament, GetJob, Query
from farm.results import Applied, Ok, Outcome, Rejected
from farm.state import FarmState

T0_MS = 1_700_000_000_000  # 2023-11-14T22:13:20.000Z


class Farm:
    def __init__(self, state: FarmState | None = None) -> None:
        self.state = state or FarmState()
        self.index = 0
        self.at_ms = T0_MS

    def propose(self, command: Command, key: str | None = None, at_ms: int | None = None) -> Applied:
        self.index += 1
        self.at_ms = self.at_ms + 1000 if at_ms is None else at_ms
        return self.state.apply(self.index, encode_proposal(encode_command(command), self.at_ms, key))

    def ok(self, command: Command, key: str | None = None, at_ms: int | None = None) -> Any:
        """Apply a command that must succeed; return its value."""
        outcome = self.propose(command, key, at_ms).outcome
        assert isinstance(outcome, Ok), outcome
        return outcome.value

    def refused(self, command: Command, code: str, field: str | None = None) -> Rejected:
        """Apply a command that must be refused with `code`, and check it changed nothing."""
        before = self.state.snapshot()
        applied = self.propose(command)
        assert isinstance(applied.outcome, Rejected), applied.outcome
        assert applied.outcome.code == code, applied.outcome
        assert applied.outcome.detail and applied.events == ()
        if field is not None:
            assert applied.outcome.field == field, applied.outcome
        assert self.state.snapshot() == before
        return applied.outcome

    def ask(self, query: Query) -> Outcome:
        return self.state.query(query)

    def filament(self, filament_id: str) -> dict[str, Any]:
        outcome = self.ask(GetFilament(filament_id))
        assert isinstance(outcome, Ok)
        return outcome.value

    def job(self, job_id: str) -> dict[str, Any]:
        outcome = self.ask(GetJob(job_id))
        assert isinstance(outcome, Ok)
        return outcome.value

    def seed(self, grams: int = 100) -> Farm:
        """The seed README's farm: printer1 and a 100 g spool f1."""
        self.ok(CreatePrinter("printer1", "HP", "L12"))
        self.ok(CreateFilament("f1", "PVC", "Black", grams, grams))
        return self

    def queue(self, job_id: str, grams: int = 10, printer: str = "printer1", filament: str = "f1") -> dict:
        return self.ok(CreateJob(job_id, printer, filament, grams, "part"))
