"""Concurrent clients driving jobs and filaments through the HTTP API while recording a History.

Every logical operation is one history entry even when it takes several attempts: a write is retried with the
same Idempotency-Key (on another node when one does not answer), so it applies at most once and its effect
lies somewhere between the first call and the last return, which is exactly what the entry claims. Reads use
the default (linearizable) consistency. An operation that never got a definite answer before its deadline is
indeterminate; one that certainly never reached any server is dropped from the history.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tests.faults.history import History, HttpClient, Indeterminate, NotSent, Reply
from tests.faults.models import (
    STATUSES,
    TRANSITIONS,
    ClearBed,
    Cleared,
    CreateFilament,
    CreateJob,
    FilamentView,
    JobView,
    ReadFilament,
    ReadJob,
    Refused,
    ReportUsage,
    SetStatus,
)

# refusals the models know; anything else from a 4xx is a workload bug or an API deviation
MODEL_CODES = frozenset({
    "not_found", "already_exists", "unknown_printer", "unknown_filament", "insufficient_filament",
    "invalid_transition", "printer_busy", "bed_not_clear",
})
# a usage report may also be refused for going down (another report got there first) or past the weight
USAGE_CODES = MODEL_CODES | {"invalid_field"}


class WorkloadBug(AssertionError):
    """The system answered something the models cannot express (e.g. 422 to a request we believe valid)."""


class Unanswered(Exception):
    """A 5xx: the request may or may not have been applied."""


def job_view(body: dict[str, Any]) -> JobView:
    return JobView(body["status"], body.get("used_weight_in_grams") or 0)


def filament_view(body: dict[str, Any], anomalies: list[str] | None = None) -> FilamentView:
    view = FilamentView(body["total_weight_in_grams"], body["remaining_weight_in_grams"],
                        body["reserved_weight_in_grams"])
    if anomalies is not None:
        if not 0 <= view.reserved <= view.remaining <= view.total:
            anomalies.append(f"filament {body['id']} out of bounds: {body}")
        if body.get("available_weight_in_grams") != view.remaining - view.reserved:
            anomalies.append(f"filament {body['id']} available != remaining - reserved: {body}")
    return view


@dataclass
class Settings:
    workers: int = 6
    filaments: int = 3
    printers_per_filament: int = 2
    filament_grams: int = 20000
    weights: tuple[int, int] = (5, 80)
    attempt_timeout: float = 3.0
    op_deadline: float = 12.0
    think: tuple[float, float] = (0.0, 0.02)  # seconds between a worker's operations
    retry: bool = True  # False: one attempt per operation, so failures stay indeterminate (Jepsen's style)
    snapshot_every: int | None = None  # the nodes' --snapshot-every (small: compaction and InstallSnapshot)
    tick_ms: int | None = None  # the nodes' --tick-ms (small: short election timeouts, more elections)


@dataclass
class Farm:
    """What the workload has set up: filament ids, printers exclusive to each filament."""

    filaments: list[str]
    printers: dict[str, list[str]]  # filament -> its own printers
    initial: dict[str, int]  # filament -> its initial remaining grams

    @property
    def all_printers(self) -> list[str]:
        return [p for ps in self.printers.values() for p in ps]


@dataclass
class Workload:
    """Shared by every worker: the history, the nodes' HTTP ports, and loosely tracked job knowledge."""

    ports: Sequence[int]
    history: History
    rng: random.Random
    settings: Settings = field(default_factory=Settings)
    run_id: str = "run"
    farm: Farm | None = None
    anomalies: list[str] = field(default_factory=list)
    jobs: list[tuple[str, str, str, int]] = field(default_factory=list)  # (job, filament, printer, weight)
    last_status: dict[str, str] = field(default_factory=dict)
    reported: dict[str, int] = field(default_factory=dict)  # job -> grams used as last reported
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    _clients: dict[tuple[int, int], HttpClient] = field(default_factory=dict)
    _keys: int = 0

    def client(self, worker: int, port: int) -> HttpClient:
        key = (worker, port)
        if key not in self._clients:
            self._clients[key] = HttpClient(port, timeout=self.settings.attempt_timeout)
        return self._clients[key]

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()

    # ---- one logical operation ----

    async def perform(
        self,
        worker: int,
        input: Any,
        attempt: Callable[[HttpClient, dict[str, str]], Awaitable[Any]],
        write: bool,
    ) -> Any:
        """Runs `attempt` against nodes until it answers definitely or the deadline passes; records it."""
        headers: dict[str, str] = {}
        if write:
            self._keys += 1
            headers["Idempotency-Key"] = f"{self.run_id}-{self._keys}"
        record = self.history.call(worker, input)
        deadline = time.monotonic() + self.settings.op_deadline
        maybe_sent = False
        last_error = ""
        ports = list(self.ports)
        start = self.rng.randrange(len(ports))
        tries = 0
        while time.monotonic() < deadline:
            port = ports[(start + tries) % len(ports)]
            tries += 1
            try:
                output = await attempt(self.client(worker, port), headers)
            except NotSent as exc:
                last_error = str(exc)
            except (Indeterminate, Unanswered) as exc:
                maybe_sent, last_error = True, str(exc)
                if not self.settings.retry:
                    break
            else:
                self.history.returned(record, output, f"port {port}")
                return output
            if tries % len(ports) == 0:
                await asyncio.sleep(0.2)  # every node failed once: give elections a moment
        if maybe_sent or not write:
            self.history.indeterminate(record, last_error)
        else:
            self.history.forget(record)
        return None

    @staticmethod
    def _outcome(reply: Reply, view: Callable[[Any], Any], codes: frozenset[str] = MODEL_CODES) -> Any:
        if reply.status >= 500:
            raise Unanswered(f"{reply.status} {reply.code}")
        if reply.status >= 400:
            if reply.code not in codes:
                raise WorkloadBug(f"unexpected {reply.status} {reply.body[:300]!r}")
            return Refused(reply.code)
        return view(reply.json())

    # ---- the API calls, as model operations ----

    async def create_filament(self, worker: int, filament_id: str, grams: int) -> Any:
        body = {"id": filament_id, "type": "PLA", "color": "black", "total_weight_in_grams": grams,
                "remaining_weight_in_grams": grams}

        async def attempt(client: HttpClient, headers: dict[str, str]) -> Any:
            reply = await client.request("POST", "/api/v1/filaments", body, headers)
            return self._outcome(reply, lambda b: filament_view(b, self.anomalies))

        return await self.perform(worker, CreateFilament(filament_id, grams, grams), attempt, write=True)

    async def read_filament(self, worker: int, filament_id: str, stale: bool = False) -> Any:
        path = f"/api/v1/filaments/{quote(filament_id)}" + ("?consistency=stale" if stale else "")

        async def attempt(client: HttpClient, headers: dict[str, str]) -> Any:
            reply = await client.request("GET", path)
            return self._outcome(reply, lambda b: filament_view(b, self.anomalies))

        return await self.perform(worker, ReadFilament(filament_id), attempt, write=False)

    async def create_job(
        self, worker: int, job_id: str, filament_id: str, printer_id: str, weight: int
    ) -> Any:
        body = {"job_id": job_id, "printer_id": printer_id, "filament_id": filament_id,
                "print_weight_in_grams": weight, "status": "Queued", "details": "fault suite"}

        async def attempt(client: HttpClient, headers: dict[str, str]) -> Any:
            return self._outcome(await client.request("POST", "/api/v1/print_jobs", body, headers), job_view)

        return await self.perform(worker, CreateJob(job_id, filament_id, printer_id, weight), attempt, True)

    async def set_status(
        self, worker: int, job_id: str, filament_id: str, status: str, used: int | None = None
    ) -> Any:
        path = f"/api/v1/print_jobs/{quote(job_id)}/status?status={status}"
        if used is not None:
            path += f"&used_grams={used}"

        async def attempt(client: HttpClient, headers: dict[str, str]) -> Any:
            return self._outcome(await client.request("PUT", path, None, headers), job_view)

        return await self.perform(worker, SetStatus(job_id, filament_id, status, used), attempt, write=True)

    async def report_usage(self, worker: int, job_id: str, filament_id: str, used: int) -> Any:
        path = f"/api/v1/print_jobs/{quote(job_id)}/progress"

        async def attempt(client: HttpClient, headers: dict[str, str]) -> Any:
            reply = await client.request("PUT", path, {"used_grams": used}, headers)
            return self._outcome(reply, job_view, USAGE_CODES)

        return await self.perform(worker, ReportUsage(job_id, filament_id, used), attempt, write=True)

    async def clear_bed(self, worker: int, printer_id: str, filament_id: str) -> Any:
        path = f"/api/v1/printers/{quote(printer_id)}/clear-bed"

        async def attempt(client: HttpClient, headers: dict[str, str]) -> Any:
            reply = await client.request("POST", path, None, headers)
            return Cleared() if reply.status == 204 else self._outcome(reply, lambda b: b)

        return await self.perform(worker, ClearBed(printer_id, filament_id), attempt, write=True)

    async def read_job(self, worker: int, job_id: str, filament_id: str, stale: bool = False) -> Any:
        path = f"/api/v1/print_jobs/{quote(job_id)}" + ("?consistency=stale" if stale else "")

        async def attempt(client: HttpClient, headers: dict[str, str]) -> Any:
            return self._outcome(await client.request("GET", path), job_view)

        return await self.perform(worker, ReadJob(job_id, filament_id), attempt, write=False)

    # ---- setup and workers ----

    async def setup(self) -> Farm:
        """Printers (outside the history: they never change) and filaments (inside it)."""
        s = self.settings
        farm = Farm([], {}, {})
        for f in range(s.filaments):
            fid = f"{self.run_id}-f{f}"
            farm.filaments.append(fid)
            farm.initial[fid] = s.filament_grams
            farm.printers[fid] = [f"{fid}-p{p}" for p in range(s.printers_per_filament)]
        for printer in farm.all_printers:
            body = {"id": printer, "company": "Prusa", "model": "MK4"}

            async def attempt(client: HttpClient, headers: dict[str, str], body: Any = body) -> Any:
                reply = await client.request("POST", "/api/v1/printers", body, headers)
                if reply.status >= 500:
                    raise Unanswered(str(reply.status))
                if reply.status not in (201, 409):
                    raise WorkloadBug(f"creating printer: {reply.status} {reply.body[:300]!r}")
                return reply.status

            await self._setup_call(attempt)
        for fid in farm.filaments:
            created = await self.create_filament(0, fid, s.filament_grams)
            if not isinstance(created, (FilamentView, Refused)):
                raise WorkloadBug(f"could not create filament {fid}: {created!r}")
        self.farm = farm
        return farm

    async def _setup_call(self, attempt: Callable[[HttpClient, dict[str, str]], Awaitable[Any]]) -> None:
        self._keys += 1
        headers = {"Idempotency-Key": f"{self.run_id}-setup-{self._keys}"}
        deadline = time.monotonic() + 30
        while True:
            for port in self.ports:
                try:
                    await attempt(self.client(0, port), headers)
                    return
                except (NotSent, Indeterminate, Unanswered):
                    if time.monotonic() > deadline:
                        raise
            await asyncio.sleep(0.2)

    async def worker(self, number: int) -> None:
        rng = random.Random(self.rng.random())
        made = 0
        assert self.farm is not None
        while not self.stop.is_set():
            await self.step(number, rng, made)
            made += 1
            low, high = self.settings.think
            if high:
                await asyncio.sleep(rng.uniform(low, high))

    async def step(self, number: int, rng: random.Random, made: int) -> None:
        farm = self.farm
        assert farm is not None
        roll = rng.random()
        if roll < 0.2 or not self.jobs:
            fid = rng.choice(farm.filaments)
            job_id = f"{self.run_id}-w{number}-j{made}"
            weight = rng.randint(*self.settings.weights)
            printer = rng.choice(farm.printers[fid])
            self.jobs.append((job_id, fid, printer, weight))
            output = await self.create_job(number, job_id, fid, printer, weight)
            if isinstance(output, JobView):
                self.last_status[job_id] = output.status
            return
        job_id, fid, printer, weight = (
            rng.choice(self.jobs[-12:]) if rng.random() < 0.8 else rng.choice(self.jobs)
        )
        if roll < 0.3:
            await self.read_filament(number, fid)
        elif roll < 0.45:
            await self.read_job(number, job_id, fid)
        elif roll < 0.5:
            await self.clear_bed(number, printer, fid)
        elif roll < 0.62 and (printing := self.printing()):
            job_id, fid, _, weight = rng.choice(printing)
            reported = self.reported.get(job_id, 0)
            used = min(weight, reported + rng.randint(0, 10))
            output = await self.report_usage(number, job_id, fid, used)
            if isinstance(output, JobView):
                self.reported[job_id] = max(reported, output.used)
        else:
            known = self.last_status.get(job_id, "Queued")
            choices = sorted(TRANSITIONS[known]) if TRANSITIONS[known] and rng.random() < 0.85 else STATUSES
            status = rng.choice(choices)
            reports_use = status in ("Cancelled", "Failed") and rng.random() < 0.6
            used = rng.randint(0, weight) if reports_use else None
            output = await self.set_status(number, job_id, fid, status, used)
            if isinstance(output, JobView):
                self.last_status[job_id] = output.status
                if output.status in ("Done", "Failed") and rng.random() < 0.7:
                    await self.clear_bed(number, printer, fid)  # as an operator would, most of the time

    def printing(self) -> list[tuple[str, str, str, int]]:
        """Recent jobs last seen Running or Paused: the ones a usage report is for."""
        return [job for job in self.jobs[-40:] if self.last_status.get(job[0]) in ("Running", "Paused")]

    async def run(self, duration: float | None = None) -> None:
        """Runs the workers until `stop` is set (or `duration` passes); in-flight operations finish."""
        workers = [asyncio.create_task(self.worker(n + 1)) for n in range(self.settings.workers)]
        if duration is not None:
            try:
                await asyncio.wait_for(self.stop.wait(), duration)
            except TimeoutError:
                self.stop.set()
        await asyncio.gather(*workers)
