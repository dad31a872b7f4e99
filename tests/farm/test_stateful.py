"""Random command sequences against a plain model of the farm's rules, checked after every step.

The model predicts each command's outcome code from API.md's rules alone; the invariants check the real
state's numbers (conservation, the ledger, the status table) independently of that prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgpack
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from farm.codec import decode_proposal, encode_command, encode_proposal
from farm.commands import (
    Command,
    CreateFilament,
    CreateJob,
    CreatePrinter,
    DeleteFilament,
    DeletePrinter,
    SetJobStatus,
    UpdateFilament,
    UpdatePrinter,
)
from farm.queries import ListFilaments, ListJobs, ListPrinters
from farm.results import Applied, Ok, Rejected
from farm.state import FarmState
from tests.farm.harness import T0_MS

PRINTERS = st.sampled_from(["p1", "p2", "p3"])
SPOOLS = st.sampled_from(["f1", "f2"])
JOBS = st.sampled_from([f"j{n}" for n in range(12)])
GRAMS = st.integers(0, 120)
ACTIVE = ("Queued", "Running", "Paused")
STATUSES = ("Queued", "Running", "Paused", "Done", "Cancelled", "Failed")
# API.md's table, written out again here so that the model does not share the code's copy
TRANSITIONS = {
    "Queued": ("Running", "Cancelled"),
    "Running": ("Done", "Cancelled", "Paused", "Failed"),
    "Paused": ("Running", "Cancelled", "Failed"),
    "Done": (),
    "Cancelled": (),
    "Failed": (),
}


@dataclass
class ModelSpool:
    total: int
    remaining: int  # what the last create/update set, minus what jobs consumed since
    set_to: int  # what the last create/update set
    consumed: int = 0  # consumed by jobs since then


@dataclass
class ModelJob:
    printer: str
    spool: str
    weight: int
    status: str = "Queued"
    used: int | None = None


class FarmMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.state = FarmState()
        self.index = 0
        self.printers: set[str] = set()
        self.spools: dict[str, ModelSpool] = {}
        self.jobs: dict[str, ModelJob] = {}
        self.seen_status: dict[str, str] = {}
        self.keyed: list[tuple[bytes, Applied]] = []  # proposals with a key, and their first outcome

    # --- driving -----------------------------------------------------------------------------------------

    def reserved(self, spool: str) -> int:
        return sum(j.weight for j in self.jobs.values() if j.spool == spool and j.status in ACTIVE)

    def active_on(self, attr: str, object_id: str) -> bool:
        return any(getattr(j, attr) == object_id and j.status in ACTIVE for j in self.jobs.values())

    def submit(self, command: Command, expected: str, key: str | None = None) -> Applied:
        """Apply `command`; it must end as `expected` ("ok" or a code), and a refusal must change nothing."""
        self.index += 1
        data = encode_proposal(encode_command(command), T0_MS + self.index * 1000, key)
        before = self.state.snapshot()
        applied = self.state.apply(self.index, data)
        got = "ok" if isinstance(applied.outcome, Ok) else applied.outcome.code
        assert got == expected, (command, applied.outcome)
        status = f"({command.status})" if type(command) is SetJobStatus else ""
        event(f"{type(command).__name__}{status}: {got}")
        if isinstance(applied.outcome, Rejected):
            assert applied.events == () and applied.outcome.detail
            after = self.state.snapshot()
            if key is None:
                assert after == before
            else:  # only the idempotency table may have learnt the key
                assert msgpack.unpackb(after)[:4] == msgpack.unpackb(before)[:4]
        else:  # an applied command publishes events exactly when it changed the farm
            changed = msgpack.unpackb(self.state.snapshot())[:4] != msgpack.unpackb(before)[:4]
            assert changed == bool(applied.events), (command, applied.events)
        if key is not None:
            self.keyed.append((data, applied))
        return applied

    def key(self, kind: str) -> str:
        """A fresh key, every other one an internal key (the node's own, kept in a table of their own)."""
        return f"{'~' if self.index % 2 else ''}{kind}{self.index}"

    # --- rules -------------------------------------------------------------------------------------------

    @initialize(total=st.integers(60, 200), second=st.integers(0, 200))
    def a_small_farm(self, total: int, second: int) -> None:
        """Most sequences should be about jobs, so start with two printers and two spools."""
        for printer in ("p1", "p2"):
            self.create_printer(printer, valid=True)
        self.create_filament("f1", total, total)
        self.create_filament("f2", 200, second)

    @rule(printer=PRINTERS, valid=st.booleans())
    def create_printer(self, printer: str, valid: bool) -> None:
        if not valid:
            self.submit(CreatePrinter("", "HP", "L12"), "invalid_field")
            return
        expected = "already_exists" if printer in self.printers else "ok"
        self.submit(CreatePrinter(printer, "HP", "L12"), expected)
        self.printers.add(printer)

    @rule(printer=PRINTERS)
    def update_printer(self, printer: str) -> None:
        self.submit(UpdatePrinter(printer, model="MK4"), "ok" if printer in self.printers else "not_found")

    @rule(printer=PRINTERS)
    def delete_printer(self, printer: str) -> None:
        if printer not in self.printers:
            expected = "not_found"
        elif self.active_on("printer", printer):
            expected = "in_use"
        else:
            expected = "ok"
            self.printers.discard(printer)
        self.submit(DeletePrinter(printer), expected)

    @rule(spool=SPOOLS, total=GRAMS, remaining=GRAMS)
    def create_filament(self, spool: str, total: int, remaining: int) -> None:
        if remaining > total:
            expected = "invalid_field"
        elif spool in self.spools:
            expected = "already_exists"
        else:
            expected = "ok"
            self.spools[spool] = ModelSpool(total, remaining, remaining)
        self.submit(CreateFilament(spool, "PLA", "Red", total, remaining), expected)

    @rule(spool=SPOOLS, total=st.none() | GRAMS, remaining=st.none() | GRAMS, keyed=st.booleans())
    def update_filament(self, spool: str, total: int | None, remaining: int | None, keyed: bool) -> None:
        model = self.spools.get(spool)
        if model is None:
            expected = "not_found"
        else:
            new_total = model.total if total is None else total
            new_remaining = model.remaining if remaining is None else remaining
            if new_remaining > new_total:
                expected = "invalid_field"
            elif new_remaining < self.reserved(spool):
                expected = "insufficient_filament"
            else:
                expected = "ok"
                self.spools[spool] = ModelSpool(new_total, new_remaining, new_remaining)
        command = UpdateFilament(spool, total_weight_in_grams=total, remaining_weight_in_grams=remaining)
        self.submit(command, expected, self.key("u") if keyed else None)

    @rule(spool=SPOOLS)
    def delete_filament(self, spool: str) -> None:
        if spool not in self.spools:
            expected = "not_found"
        elif self.active_on("spool", spool):
            expected = "in_use"
        else:
            expected = "ok"
            del self.spools[spool]
        self.submit(DeleteFilament(spool), expected)

    def queue(self, job: str, printer: str, spool: str, weight: int, keyed: bool) -> None:
        if job in self.jobs:
            expected = "already_exists"
        elif printer not in self.printers:
            expected = "unknown_printer"
        elif spool not in self.spools:
            expected = "unknown_filament"
        elif weight > self.spools[spool].remaining - self.reserved(spool):
            expected = "insufficient_filament"
        else:
            expected = "ok"
        self.submit(CreateJob(job, printer, spool, weight), expected, self.key("c") if keyed else None)
        if expected == "ok":
            self.jobs[job] = ModelJob(printer, spool, weight)

    def change_status(self, job: str, status: str, used: int | None, keyed: bool) -> None:
        model = self.jobs.get(job)
        if status not in STATUSES or (used is not None and used < 0):
            expected = "invalid_field"
        elif model is None:
            expected = "not_found"
        elif status not in TRANSITIONS[model.status]:
            expected = "invalid_transition"
        elif used is not None and (status not in ("Cancelled", "Failed") or used > model.weight):
            expected = "invalid_field"
        elif status == "Running" and any(
            other.printer == model.printer and other.status in ("Running", "Paused")
            for name, other in self.jobs.items()
            if name != job
        ):
            expected = "printer_busy"
        else:
            expected = "ok"
        self.submit(SetJobStatus(job, status, used), expected, self.key("s") if keyed else None)
        if expected != "ok":
            return
        model.status = status
        if status in ("Done", "Cancelled", "Failed"):
            model.used = model.weight if status == "Done" else (used or 0)
            spool = self.spools[model.spool]
            spool.remaining -= model.used
            spool.consumed += model.used

    @rule(job=JOBS, printer=PRINTERS, spool=SPOOLS, weight=st.integers(0, 60), keyed=st.booleans())
    def create_job(self, job: str, printer: str, spool: str, weight: int, keyed: bool) -> None:
        self.queue(job, printer, spool, weight, keyed)

    @precondition(lambda self: self.printers and self.spools)
    @rule(data=st.data(), job=JOBS, weight=st.integers(0, 40), keyed=st.booleans())
    def queue_on_what_exists(self, data: st.DataObject, job: str, weight: int, keyed: bool) -> None:
        printer = data.draw(st.sampled_from(sorted(self.printers)))
        spool = data.draw(st.sampled_from(sorted(self.spools)))
        self.queue(job, printer, spool, weight, keyed)

    @rule(
        job=JOBS,
        status=st.sampled_from([*STATUSES, "running", "Canceled"]),
        used=st.none() | st.integers(-1, 70),
        keyed=st.booleans(),
    )
    def set_status(self, job: str, status: str, used: int | None, keyed: bool) -> None:
        self.change_status(job, status, used, keyed)

    @precondition(lambda self: any(j.status in ACTIVE for j in self.jobs.values()))
    @rule(data=st.data(), keyed=st.booleans())
    def move_an_active_job(self, data: st.DataObject, keyed: bool) -> None:
        job = data.draw(st.sampled_from(sorted(n for n, j in self.jobs.items() if j.status in ACTIVE)))
        allowed = TRANSITIONS[self.jobs[job].status]
        status = data.draw(
            st.sampled_from(allowed) if data.draw(st.integers(0, 2)) else st.sampled_from(STATUSES)
        )
        used = (
            data.draw(st.none() | st.integers(0, self.jobs[job].weight))
            if status in ("Cancelled", "Failed")
            else None
        )
        self.change_status(job, status, used, keyed)

    @precondition(lambda self: self.keyed)
    @rule(pick=st.integers(0, 10**6))
    def replay_a_keyed_write(self, pick: int) -> None:
        data, first = self.keyed[pick % len(self.keyed)]
        before = self.state.snapshot()
        self.index += 1
        again = self.state.apply(self.index, data)
        assert again.outcome == first.outcome and again.events == ()
        assert self.state.snapshot() == before

    @precondition(lambda self: self.keyed)
    @rule(pick=st.integers(0, 10**6))
    def reuse_a_key_for_another_command(self, pick: int) -> None:
        data, _ = self.keyed[pick % len(self.keyed)]
        key = decode_proposal(data).idempotency_key
        before = self.state.snapshot()
        self.index += 1
        # no rule above sends DeletePrinter with a key, so this is never the key's first command
        other = encode_proposal(encode_command(DeletePrinter("p1")), T0_MS + self.index * 1000, key)
        refused = self.state.apply(self.index, other)
        assert isinstance(refused.outcome, Rejected) and refused.outcome.code == "idempotency_key_reused"
        assert refused.events == () and self.state.snapshot() == before

    @rule()
    def restart_from_snapshot(self) -> None:
        self.state = FarmState.restore(self.state.snapshot())

    # --- invariants --------------------------------------------------------------------------------------

    @invariant()
    def objects_match_the_model(self) -> None:
        printers = self.state.query(ListPrinters()).value.items
        assert [p["id"] for p in printers] == sorted(self.printers)
        jobs = {j["job_id"]: j for j in self.state.query(ListJobs()).value.items}
        assert {name: j["status"] for name, j in jobs.items()} == {n: j.status for n, j in self.jobs.items()}
        assert {name: j["used_weight_in_grams"] for name, j in jobs.items()} == {
            n: j.used for n, j in self.jobs.items()
        }

    @invariant()
    def statuses_move_only_along_the_table(self) -> None:
        for job in self.state.query(ListJobs()).value.items:
            previous = self.seen_status.get(job["job_id"], "Queued")
            assert job["status"] == previous or job["status"] in TRANSITIONS[previous]
            if job["status"] in ("Running", "Paused", "Done", "Failed"):
                assert job["started_at"] is not None
            assert (job["ended_at"] is not None) == (job["status"] in ("Done", "Cancelled", "Failed"))
            self.seen_status[job["job_id"]] = job["status"]

    @invariant()
    def the_ledger_balances(self) -> None:
        jobs = self.state.query(ListJobs()).value.items
        for spool in self.state.query(ListFilaments()).value.items:
            model = self.spools[spool["id"]]
            reserved = sum(
                j["print_weight_in_grams"]
                for j in jobs
                if j["filament_id"] == spool["id"] and j["status"] in ACTIVE
            )
            assert spool["reserved_weight_in_grams"] == reserved
            assert 0 <= spool["reserved_weight_in_grams"] <= spool["remaining_weight_in_grams"]
            assert spool["remaining_weight_in_grams"] <= spool["total_weight_in_grams"] == model.total
            assert spool["available_weight_in_grams"] == spool["remaining_weight_in_grams"] - reserved
            # conservation: nothing but consumption by jobs moves the stock after it was set
            assert spool["remaining_weight_in_grams"] == model.set_to - model.consumed == model.remaining
        assert {s["id"] for s in self.state.query(ListFilaments()).value.items} == set(self.spools)

    @invariant()
    def at_most_one_running_or_paused_job_per_printer(self) -> None:
        holding = [
            j["printer_id"]
            for j in self.state.query(ListJobs()).value.items
            if j["status"] in ("Running", "Paused")
        ]
        assert len(holding) == len(set(holding))

    @invariant()
    def snapshot_restore_snapshot_is_the_same_bytes(self) -> None:
        data = self.state.snapshot()
        assert FarmState.restore(data).snapshot() == data


FarmMachine.TestCase.settings = settings(
    max_examples=400,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_farm_follows_its_rules = FarmMachine.TestCase
