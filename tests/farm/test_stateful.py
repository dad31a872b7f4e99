"""Random command sequences against a plain model of the farm's rules, checked after every step.

The model predicts each command's outcome code from API.md's rules alone (the workflow's too: maintenance,
beds, priorities, progress with usage as it happens, failure reasons, retries, low-stock thresholds); the
invariants check the real state's numbers (conservation, the ledger chain, the status table, queue order,
printer status) independently of that prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgpack
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from farm.codec import decode_proposal, encode_command, encode_proposal
from farm.commands import (
    ClearBed,
    Command,
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
from farm.queries import GetLedger, GetPrinterQueue, GetStats, ListFilaments, ListJobs, ListPrinters
from farm.results import Applied, Ok, Rejected
from farm.state import FarmState
from tests.farm.harness import T0_MS

PRINTERS = st.sampled_from(["p1", "p2", "p3"])
SPOOLS = st.sampled_from(["f1", "f2"])
JOBS = st.sampled_from([f"j{n}" for n in range(12)])
GRAMS = st.integers(0, 120)
PRIORITIES = st.integers(-3, 3) | st.sampled_from([-100, 100])
REASONS = (
    "adhesion",
    "spaghetti",
    "clog",
    "runout",
    "layer_shift",
    "power_loss",
    "printer_error",
    "operator",
)
REASONS += ("other",)
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


def _reachable(status: str) -> set[str]:
    seen, todo = set(), [status]
    while todo:
        for target in TRANSITIONS[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


REACHABLE = {status: _reachable(status) for status in TRANSITIONS}


@dataclass
class ModelSpool:
    total: int
    remaining: int  # what the last create/update set, minus what jobs consumed since
    set_to: int  # what the last create/update set
    consumed: int = 0  # consumed by jobs since then
    threshold: int | None = None
    kind: str = "PLA"


@dataclass
class ModelPrinter:
    maintenance: bool = False
    bed_clear: bool = True


@dataclass
class ModelJob:
    printer: str
    spool: str
    weight: int
    sequence: int
    status: str = "Queued"
    used: int | None = None
    priority: int = 0
    progress: int | None = None
    reason: str | None = None
    retry_of: str | None = None


class FarmMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.state = FarmState()
        self.index = 0
        self.printers: dict[str, ModelPrinter] = {}
        self.spools: dict[str, ModelSpool] = {}
        self.jobs: dict[str, ModelJob] = {}
        self.ledgers: dict[str, list[dict]] = {}  # each spool's ledger as last seen: later reads only append
        self.consumed_by_type: dict[str, int] = {}
        self.seen_status: dict[str, str] = {}
        self.keyed: list[tuple[bytes, Applied]] = []  # proposals with a key, and their first outcome

    # --- driving -----------------------------------------------------------------------------------------

    def reserved(self, spool: str) -> int:
        """API.md: the active jobs' weights, less what they already consumed."""
        return sum(
            j.weight - (j.used or 0) for j in self.jobs.values() if j.spool == spool and j.status in ACTIVE
        )

    def is_low(self, spool: str) -> bool:
        model = self.spools.get(spool)
        if model is None or model.threshold is None:
            return False
        return model.remaining - self.reserved(spool) < model.threshold

    def consume(self, job: ModelJob, grams: int) -> None:
        spool = self.spools[job.spool]
        spool.remaining -= grams
        spool.consumed += grams
        if grams:
            self.consumed_by_type[spool.kind] = self.consumed_by_type.get(spool.kind, 0) + grams

    def printer_status(self, printer: str) -> str:
        for job in self.jobs.values():
            if job.printer == printer and job.status == "Running":
                return "printing"
            if job.printer == printer and job.status == "Paused":
                return "paused"
        return "maintenance" if self.printers[printer].maintenance else "idle"

    def active_on(self, attr: str, object_id: str) -> bool:
        return any(getattr(j, attr) == object_id and j.status in ACTIVE for j in self.jobs.values())

    def submit(self, command: Command, expected: str, key: str | None = None) -> Applied:
        """Apply `command`; it must end as `expected` ("ok" or a code), and a refusal must change nothing."""
        self.index += 1
        data = encode_proposal(encode_command(command), T0_MS + self.index * 1000, key)
        before = self.state.snapshot()
        low_before = {spool: self.is_low(spool) for spool in self.spools}
        applied = self.state.apply(self.index, data)
        self.low_events = [e.data["id"] for e in applied.events if e.type == "filament.low_stock"]
        self.low_before = low_before
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

    def check_low_stock_events(self) -> None:
        """Called once the model has taken the command in: an event exactly for each spool that turned low."""
        turned_low = sorted(s for s in self.spools if self.is_low(s) and not self.low_before.get(s, False))
        assert sorted(self.low_events) == turned_low, (self.low_events, turned_low)

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
        self.printers.setdefault(printer, ModelPrinter())

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
            del self.printers[printer]
        self.submit(DeletePrinter(printer), expected)

    @rule(spool=SPOOLS, total=GRAMS, remaining=GRAMS, threshold=st.none() | st.integers(-1, 130))
    def create_filament(self, spool: str, total: int, remaining: int, threshold: int | None = None) -> None:
        if remaining > total or (threshold is not None and threshold < 0):
            expected = "invalid_field"
        elif spool in self.spools:
            expected = "already_exists"
        else:
            expected = "ok"
        self.submit(CreateFilament(spool, spool.upper(), "Red", total, remaining, threshold), expected)
        if expected == "ok":
            self.spools[spool] = ModelSpool(
                total, remaining, remaining, threshold=threshold, kind=spool.upper()
            )
            self.ledgers.pop(spool, None)  # a new spool under an old id starts a new ledger
        self.check_low_stock_events()

    @rule(
        spool=SPOOLS,
        total=st.none() | GRAMS,
        remaining=st.none() | GRAMS,
        keyed=st.booleans(),
        threshold=st.none() | st.integers(-1, 130),
    )
    def update_filament(
        self, spool: str, total: int | None, remaining: int | None, keyed: bool, threshold: int | None
    ) -> None:
        model = self.spools.get(spool)
        if threshold is not None and threshold < 0:
            expected = "invalid_field"
        elif model is None:
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
                new_threshold = model.threshold if threshold is None else threshold
                updated = ModelSpool(
                    new_total, new_remaining, new_remaining, threshold=new_threshold, kind=model.kind
                )
        command = UpdateFilament(
            spool,
            total_weight_in_grams=total,
            remaining_weight_in_grams=remaining,
            low_stock_threshold_in_grams=threshold,
        )
        self.submit(command, expected, self.key("u") if keyed else None)
        if expected == "ok":
            self.spools[spool] = updated
        self.check_low_stock_events()

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

    def queue(self, job: str, printer: str, spool: str, weight: int, keyed: bool, priority: int = 0) -> None:
        if not -100 <= priority <= 100:
            expected = "invalid_field"
        elif job in self.jobs:
            expected = "already_exists"
        elif printer not in self.printers:
            expected = "unknown_printer"
        elif spool not in self.spools:
            expected = "unknown_filament"
        elif weight > self.spools[spool].remaining - self.reserved(spool):
            expected = "insufficient_filament"
        else:
            expected = "ok"
        command = CreateJob(job, printer, spool, weight, "", priority)
        self.submit(command, expected, self.key("c") if keyed else None)
        if expected == "ok":
            self.jobs[job] = ModelJob(printer, spool, weight, len(self.jobs), priority=priority)
        self.check_low_stock_events()

    def change_status(
        self, job: str, status: str, used: int | None, keyed: bool, reason: str | None = None
    ) -> None:
        model = self.jobs.get(job)
        if (
            status not in STATUSES
            or (used is not None and used < 0)
            or (reason is not None and (reason not in REASONS or status != "Failed"))
        ):
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
        elif status == "Running" and model.status == "Queued" and self.printers[model.printer].maintenance:
            expected = "printer_unavailable"
        elif status == "Running" and model.status == "Queued" and not self.printers[model.printer].bed_clear:
            expected = "bed_not_clear"
        else:
            expected = "ok"
        self.submit(SetJobStatus(job, status, used, reason), expected, self.key("s") if keyed else None)
        if expected != "ok":
            return
        previous, model.status = model.status, status
        if status == "Running" and previous == "Queued":
            model.progress = 0
        if status in ("Done", "Cancelled", "Failed"):
            already = model.used or 0
            final = model.weight if status == "Done" else max(used or 0, already)
            self.consume(model, final - already)
            model.used = final
        if status == "Done":
            model.progress = 100
        if status == "Failed":
            model.reason = reason or "other"
        if status in ("Done", "Failed"):
            self.printers[model.printer].bed_clear = False
        self.check_low_stock_events()

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
        reason=st.none() | st.sampled_from(["clog", "other", "melted"]),
    )
    def set_status(self, job: str, status: str, used: int | None, keyed: bool, reason: str | None) -> None:
        self.change_status(job, status, used, keyed, reason)

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
        reason = data.draw(st.none() | st.sampled_from(REASONS)) if status == "Failed" else None
        self.change_status(job, status, used, keyed, reason)

    # --- the workflow ------------------------------------------------------------------------------------

    @rule(printer=PRINTERS, maintenance=st.booleans())
    def set_maintenance(self, printer: str, maintenance: bool) -> None:
        self.submit(
            UpdatePrinter(printer, maintenance=maintenance), "ok" if printer in self.printers else "not_found"
        )
        if printer in self.printers:
            self.printers[printer].maintenance = maintenance

    @rule(printer=PRINTERS)
    def clear_bed(self, printer: str) -> None:
        self.submit(ClearBed(printer), "ok" if printer in self.printers else "not_found")
        if printer in self.printers:
            self.printers[printer].bed_clear = True

    @rule(
        job=JOBS,
        priority=st.none() | PRIORITIES | st.sampled_from([101, -101]),
        details=st.none() | st.just("x"),
    )
    def update_job(self, job: str, priority: int | None, details: str | None) -> None:
        model = self.jobs.get(job)
        if priority is not None and not -100 <= priority <= 100:
            expected = "invalid_field"
        elif model is None:
            expected = "not_found"
        elif priority is not None and priority != model.priority and model.status != "Queued":
            expected = "not_queued"
        else:
            expected = "ok"
        self.submit(UpdateJob(job, priority, details), expected)
        if expected == "ok" and priority is not None:
            model.priority = priority

    @precondition(lambda self: any(j.status in ("Running", "Paused") for j in self.jobs.values()))
    @rule(data=st.data(), keyed=st.booleans())
    def report_progress_of_a_printing_job(self, data: st.DataObject, keyed: bool) -> None:
        names = sorted(n for n, j in self.jobs.items() if j.status in ("Running", "Paused"))
        job = data.draw(st.sampled_from(names))
        model = self.jobs[job]
        percent = data.draw(st.none() | st.integers(max(0, (model.progress or 0) - 2), 101))
        used = data.draw(st.none() | st.integers(max(0, (model.used or 0) - 2), model.weight + 1))
        self.report_progress(job, percent, used, keyed)

    @rule(job=JOBS, percent=st.none() | st.integers(-1, 101), used=st.none() | st.integers(-1, 70))
    def report_progress(self, job: str, percent: int | None, used: int | None, keyed: bool = False) -> None:
        model = self.jobs.get(job)
        if (
            (percent is None and used is None)
            or (percent is not None and not 0 <= percent <= 100)
            or (used is not None and used < 0)
        ):
            expected = "invalid_field"
        elif model is None:
            expected = "not_found"
        elif model.status not in ("Running", "Paused"):
            expected = "invalid_transition"
        elif (percent is not None and percent < (model.progress or 0)) or (
            used is not None and (used < (model.used or 0) or used > model.weight)
        ):
            expected = "invalid_field"
        else:
            expected = "ok"
        self.submit(ReportProgress(job, percent, used), expected, self.key("p") if keyed else None)
        if expected != "ok":
            return
        if percent is not None:
            model.progress = percent
        if used is not None:
            self.consume(model, used - (model.used or 0))
            model.used = used
        self.check_low_stock_events()

    @precondition(lambda self: any(j.status == "Queued" for j in self.jobs.values()))
    @rule(data=st.data(), ending=st.sampled_from(["Done", "Cancelled", "Failed", "Paused", None]))
    def print_a_queued_job(self, data: st.DataObject, ending: str | None) -> None:
        """Most random sequences never get a job printing: start one, report progress, maybe end it."""
        job = data.draw(st.sampled_from(sorted(n for n, j in self.jobs.items() if j.status == "Queued")))
        model = self.jobs[job]
        if data.draw(st.booleans()):
            self.clear_bed(model.printer)
        self.change_status(job, "Running", None, False)
        if model.status != "Running":
            return
        used = data.draw(st.integers(0, model.weight))
        self.report_progress(job, data.draw(st.integers(0, 100)), used)
        if ending is not None:
            final = (
                data.draw(st.none() | st.integers(0, model.weight))
                if ending in ("Cancelled", "Failed")
                else None
            )
            reason = data.draw(st.none() | st.sampled_from(REASONS)) if ending == "Failed" else None
            self.change_status(job, ending, final, False, reason)

    @precondition(lambda self: any(j.status in ("Failed", "Cancelled") for j in self.jobs.values()))
    @rule(data=st.data(), new=JOBS, keyed=st.booleans())
    def retry_an_ended_job(self, data: st.DataObject, new: str, keyed: bool) -> None:
        ended = sorted(n for n, j in self.jobs.items() if j.status in ("Failed", "Cancelled"))
        self.retry(data.draw(st.sampled_from(ended)), new, keyed)

    @precondition(lambda self: any(j.status == "Queued" for j in self.jobs.values()))
    @rule(data=st.data(), priority=PRIORITIES)
    def reprioritize_a_queued_job(self, data: st.DataObject, priority: int) -> None:
        queued = sorted(n for n, j in self.jobs.items() if j.status == "Queued")
        self.update_job(data.draw(st.sampled_from(queued)), priority, None)

    @precondition(lambda self: any(not p.bed_clear for p in self.printers.values()))
    @rule(data=st.data())
    def clear_a_dirty_bed(self, data: st.DataObject) -> None:
        self.clear_bed(
            data.draw(st.sampled_from(sorted(n for n, p in self.printers.items() if not p.bed_clear)))
        )

    @rule(job=JOBS, new=JOBS, keyed=st.booleans())
    def retry(self, job: str, new: str, keyed: bool) -> None:
        model = self.jobs.get(job)
        if model is None:
            expected = "not_found"
        elif model.status not in ("Failed", "Cancelled"):
            expected = "invalid_transition"
        elif new in self.jobs:
            expected = "already_exists"
        elif model.printer not in self.printers:
            expected = "unknown_printer"
        elif model.spool not in self.spools:
            expected = "unknown_filament"
        elif model.weight > self.spools[model.spool].remaining - self.reserved(model.spool):
            expected = "insufficient_filament"
        else:
            expected = "ok"
        self.submit(RetryJob(job, new), expected, self.key("r") if keyed else None)
        if expected == "ok":
            self.jobs[new] = ModelJob(
                model.printer,
                model.spool,
                model.weight,
                len(self.jobs),
                priority=model.priority,
                retry_of=job,
            )
        self.check_low_stock_events()

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
        fields = (
            "status",
            "used_weight_in_grams",
            "priority",
            "progress_percent",
            "failure_reason",
            "retry_of",
        )
        assert {name: tuple(j[f] for f in fields) for name, j in jobs.items()} == {
            n: (j.status, j.used, j.priority, j.progress, j.reason, j.retry_of) for n, j in self.jobs.items()
        }

    @invariant()
    def printers_show_their_derived_status_and_queue_in_run_order(self) -> None:
        for printer in self.state.query(ListPrinters()).value.items:
            name, model = printer["id"], self.printers[printer["id"]]
            occupying = [
                n for n, j in self.jobs.items() if j.printer == name and j.status in ("Running", "Paused")
            ]
            assert printer["status"] == self.printer_status(name)
            assert printer["current_job_id"] == (occupying[0] if occupying else None)
            assert (printer["maintenance"], printer["bed_clear"]) == (model.maintenance, model.bed_clear)
            queued = [
                (-j.priority, j.sequence, n)
                for n, j in self.jobs.items()
                if j.printer == name and j.status == "Queued"
            ]
            in_order = [n for _, _, n in sorted(queued)]
            assert printer["queue_length"] == len(in_order)
            assert [j["job_id"] for j in self.state.query(GetPrinterQueue(name)).value.items] == in_order

    @invariant()
    def every_spool_ledger_chains_exactly(self) -> None:
        for spool in self.state.query(ListFilaments()).value.items:
            entries = self.state.query(GetLedger(spool["id"])).value.items
            seen = self.ledgers.get(spool["id"], [])
            assert entries[: len(seen)] == seen  # a ledger only grows
            self.ledgers[spool["id"]] = entries
            assert entries[0]["kind"] == "create" and all(e["kind"] != "create" for e in entries[1:])
            remaining = reserved = 0
            for entry in entries:
                assert entry["kind"] in ("create", "reserve", "release", "consume", "adjust")
                assert entry["remaining_delta"] or entry["reserved_delta"] or entry["kind"] == "create"
                remaining += entry["remaining_delta"]
                reserved += entry["reserved_delta"]
                assert (entry["remaining_after"], entry["reserved_after"]) == (remaining, reserved)
                assert 0 <= reserved <= remaining
                if entry["kind"] == "consume":
                    assert entry["remaining_delta"] == entry["reserved_delta"] < 0
            assert (remaining, reserved) == (
                spool["remaining_weight_in_grams"],
                spool["reserved_weight_in_grams"],
            )

    @invariant()
    def stats_count_what_happened(self) -> None:
        stats = self.state.query(GetStats()).value
        assert stats["jobs"] == {s: sum(j.status == s for j in self.jobs.values()) for s in STATUSES}
        assert stats["failure_reasons"] == {
            r: sum(j.reason == r for j in self.jobs.values()) for r in REASONS
        }
        assert stats["grams_consumed_by_type"] == {
            k: v for k, v in sorted(self.consumed_by_type.items()) if v
        }
        assert stats["grams_consumed"] == sum(self.consumed_by_type.values())
        statuses = [self.printer_status(p) for p in self.printers]
        assert {k: v for k, v in stats["printers"].items() if v} == {
            s: statuses.count(s) for s in set(statuses)
        }

    @invariant()
    def statuses_move_only_along_the_table(self) -> None:
        for job in self.state.query(ListJobs()).value.items:
            previous = self.seen_status.get(job["job_id"], "Queued")
            assert (
                job["status"] == previous or job["status"] in REACHABLE[previous]
            )  # a rule may take 2 steps
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
            consumed_by_active = sum(
                j["used_weight_in_grams"] or 0
                for j in jobs
                if j["filament_id"] == spool["id"] and j["status"] in ACTIVE
            )
            reserved -= consumed_by_active
            assert spool["reserved_weight_in_grams"] == reserved == self.reserved(spool["id"])
            assert spool["low_stock"] == self.is_low(spool["id"])
            assert spool["low_stock_threshold_in_grams"] == model.threshold
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
