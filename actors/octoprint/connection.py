"""ConnectionActor: one connected printer's OctoPrint, followed from the leader.

Every poll (about once a second) it reads the farm's view of its printer (from this node's applied state),
asks OctoPrint for /api/job, /api/printer and the print counts of the file that matters, lets
reconcile.decide() say what to do, and does it: replicated proposals through the node's ordinary write path
(each with an idempotency key derived from what it reports), then OctoPrint calls. A dispatch is two steps:
the replicated decision first, then select+print; a leader that dies between them leaves a Running job that
the next leader's connection starts (or adopts: reconcile.after_decision).

Polls that fail back off (1, 2, 4, then every 5 s); a refused key backs off 15 s: no retry storm. The API key
lives only inside the client; log lines name the printer and the URL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

from actors.base import Actor, ActorError
from actors.octoprint import mapping, reconcile
from actors.octoprint.client import NotFound, OctoPrintClient, OctoPrintError, Refused, Unauthorized
from actors.octoprint.mapping import PrintCounts
from actors.octoprint.reconcile import (
    Action,
    Dispatch,
    EndJob,
    FollowPrinter,
    Memory,
    PrinterView,
    StartPrint,
    TellPrinter,
)

log = logging.getLogger(__name__)

POLL_INTERVAL = 1.0
BACKOFF_CAP = 5.0
UNAUTHORIZED_BACKOFF = 15.0


class FarmPort(Protocol):
    """What a connection needs from its node (actors/octoprint/farm_port.py on a real node)."""

    async def view(self, printer_id: str, previous_job_id: str | None = None) -> PrinterView | None:
        """The printer as this node has applied it (with `previous_job_id`'s ending, if it ended); None
        once it or its connection is gone."""

    async def propose(self, printer_id: str, action: Action) -> tuple[bool, str]:
        """Propose the action's replicated command; (committed and accepted, the refusal's detail)."""


class ConnectionStats:
    """Per-connection counters, read by the node's /metrics."""

    __slots__ = ("failures", "last_contact", "polls")

    def __init__(self) -> None:
        self.polls = 0
        self.failures = 0
        self.last_contact: float | None = None  # time.monotonic() of the last answer from OctoPrint

    def contact_age(self) -> float:
        return -1.0 if self.last_contact is None else time.monotonic() - self.last_contact


@dataclass(frozen=True, slots=True)
class Poll:
    """Timer message: poll now."""


class ConnectionActor(Actor):
    def __init__(
        self,
        printer_id: str,
        url: str,
        api_key: str,
        port: FarmPort,
        limiter: asyncio.Semaphore,
        *,
        interval: float = POLL_INTERVAL,
        supervisor: Any = None,
    ) -> None:
        super().__init__(f"octoprint.{printer_id}", mailbox_size=4, supervisor=supervisor)
        self.printer_id = printer_id
        self.url = url
        self._client = OctoPrintClient(url, api_key, limiter)
        self._port = port
        self._interval = interval
        self._memory = Memory()
        self._failures = 0
        self.stats = ConnectionStats()

    def __repr__(self) -> str:
        return f"ConnectionActor({self.printer_id!r}, {self.url!r})"

    async def on_start(self) -> None:
        log.info("octoprint %s: following %s", self.printer_id, self.url)
        self.tell(Poll())

    async def on_stop(self) -> None:
        await self._client.aclose()
        log.info("octoprint %s: stopped following %s", self.printer_id, self.url)

    async def handle(self, message: Any) -> Any:
        if not isinstance(message, Poll):
            raise TypeError(f"{self.name}: unexpected message {message!r}")
        delay = await self._poll()
        self.spawn(self._poll_later(delay), "next-poll")

    async def _poll_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self.tell(Poll())

    # --- one poll ----------------------------------------------------------------------------------------

    async def _poll(self) -> float:
        """Poll, act; returns the seconds until the next poll."""
        try:
            view = await self._port.view(self.printer_id, self._memory.followed)
        except (ActorError, TimeoutError) as exc:  # the node is stopping or overloaded: try again later
            log.debug("octoprint %s: no view of the farm: %r", self.printer_id, exc)
            return self._interval
        if view is None:
            return self._interval  # the supervisor stops us at its next look
        self.stats.polls += 1
        try:
            seen, counts = await self._ask_octoprint(view)
        except Unauthorized as exc:
            self._count_failure(exc)
            await self._carry(view, reconcile.failed_poll(view, self._failures, unauthorized=True))
            return UNAUTHORIZED_BACKOFF
        except OctoPrintError as exc:
            self._count_failure(exc)
            await self._carry(view, reconcile.failed_poll(view, self._failures, unauthorized=False))
            return min(BACKOFF_CAP, self._interval * 2 ** (self._failures - 1))
        if self._failures:
            log.info("octoprint %s: %s answers again after %d failed polls", self.printer_id, self.url,
                     self._failures)
        self._failures = 0
        self.stats.last_contact = time.monotonic()
        await self._carry(view, reconcile.decide(view, seen, counts, self._memory))
        return self._interval

    async def _ask_octoprint(self, view: PrinterView) -> tuple[mapping.Observation, PrintCounts | None]:
        job = await self._client.job()
        printer = await self._client.printer()
        seen = mapping.observe(job, printer)
        relevant = view.active or view.next_job
        counts = None
        if relevant is not None and relevant.file is not None:
            info = await self._client.file_info(relevant.file)
            counts = mapping.print_counts(info) if info is not None else None
        return seen, counts

    def _count_failure(self, exc: OctoPrintError) -> None:
        self._failures += 1
        self.stats.failures += 1
        if self._failures in (1, 3) or isinstance(exc, Unauthorized):
            log.warning("octoprint %s: poll of %s failed (%s, %d in a row): %s", self.printer_id, self.url,
                        exc.kind, self._failures, exc)

    # --- carrying out the decisions -------------------------------------------------------------------

    async def _carry(self, view: PrinterView, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, StartPrint):
                await self._start(action.job_id, action.file)
            elif isinstance(action, TellPrinter):
                await self._tell(action)
            else:
                committed, detail = await self._port.propose(self.printer_id, action)
                if not committed:
                    what = type(action).__name__
                    log.info("octoprint %s: %s not applied: %s", self.printer_id, what, detail)
                    continue
                if isinstance(action, Dispatch):
                    log.info("octoprint %s: job %s runs: printing %s", self.printer_id, action.job_id,
                             action.file)
                    self._memory.start_attempts[action.job_id] = 1
                    self._memory.polls_since_start[action.job_id] = 0
                    await self._start(action.job_id, action.file)
                elif isinstance(action, FollowPrinter):
                    # the farm's change is ours: the next poll must not take it for the operator's
                    self._memory.job_status[action.job_id] = action.status
                    log.info("octoprint %s: job %s %s, as on the printer", self.printer_id, action.job_id,
                             action.status)
                elif isinstance(action, EndJob):
                    log.info("octoprint %s: job %s %s: %s", self.printer_id, action.job_id, action.status,
                             action.detail)

    async def _start(self, job_id: str, file: str) -> None:
        """Select and print `file`. A refusal fails the job; no answer leaves it to the next polls (it
        either shows the print under way, or idle with the file not printed: started again)."""
        why: str | None = None
        try:
            await self._client.print_file(file)
            return
        except NotFound:
            why = f"OctoPrint has no file {file!r} in its local storage"
        except Refused as exc:
            why = f"OctoPrint refused to print {file!r}: {exc}"
        except Unauthorized as exc:
            why = f"OctoPrint refused the API key: {exc}"
        except OctoPrintError as exc:
            log.warning("octoprint %s: starting %s for job %s: no answer (%s); next poll decides",
                        self.printer_id, file, job_id, exc)
            return
        log.warning("octoprint %s: job %s fails: %s", self.printer_id, job_id, why)
        end = EndJob(job_id, "Failed", "printer_error", None, why, mapping.end_key(job_id, "Failed"))
        await self._port.propose(self.printer_id, end)

    async def _tell(self, action: TellPrinter) -> None:
        call = {"pause": self._client.pause, "resume": self._client.resume, "cancel": self._client.cancel}
        try:
            await call[action.command]()
            log.info("octoprint %s: told %s to %s (job %s)", self.printer_id, self.url, action.command,
                     action.job_id)
        except OctoPrintError as exc:
            log.warning("octoprint %s: %s for job %s failed: %s", self.printer_id, action.command,
                        action.job_id, exc)
