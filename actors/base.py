"""The actor primitive: one task, one bounded mailbox, tell / ask, supervised lifecycle.

An actor owns its state; other code reaches it only through messages. A handler may answer an ask at
once (its return value) or later (it returns an asyncio.Future, which the ask then waits on), so a slow
answer never blocks the mailbox; or it may keep the asker's own future (`current_reply`) to answer it
directly, possibly from another actor it hands it to, and return that future. If an actor's task dies,
every pending ask fails with ActorCrashed and the supervisor hears about it: nothing waits forever on a
dead actor.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

Supervisor = Callable[["Actor", BaseException], None]


class ActorError(Exception):
    """Base of the errors raised by talking to an actor."""


class MailboxFull(ActorError):
    """The actor's mailbox is at its bound: the caller must back off (backpressure)."""


class ActorStopped(ActorError):
    """The actor stopped before it answered."""


class ActorCrashed(ActorError):
    """The actor's task died with an exception before it answered."""


@dataclass(slots=True)
class Envelope:
    message: Any
    reply: asyncio.Future[Any] | None  # None for tell


class Actor:
    """Subclass and implement `handle(message)`; start() it, then tell() / ask() it; stop() it."""

    def __init__(self, name: str, *, mailbox_size: int = 1024, supervisor: Supervisor | None = None) -> None:
        self.name = name
        self.supervisor = supervisor
        self._mailbox: asyncio.Queue[Envelope] = asyncio.Queue(maxsize=mailbox_size)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pending: set[asyncio.Future[Any]] = set()
        self._stopping = False
        self._failure: BaseException | None = None
        self.current_reply: asyncio.Future[Any] | None = None  # during handle(): what the asker awaits

    # --- overridable --------------------------------------------------------------------------------

    async def on_start(self) -> None:
        """Runs in the actor's task before the first message."""

    async def on_stop(self) -> None:
        """Runs when stop() is called, before the actor's tasks are cancelled."""

    async def handle(self, message: Any) -> Any:
        raise NotImplementedError

    # --- talking to the actor -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self._tasks) and not self._stopping and self._failure is None

    def tell(self, message: Any) -> None:
        """Deliver without waiting; raises MailboxFull if the mailbox is at its bound."""
        self._check_alive()
        try:
            self._mailbox.put_nowait(Envelope(message, None))
        except asyncio.QueueFull:
            raise MailboxFull(f"{self.name}: mailbox full ({self._mailbox.maxsize} messages)") from None

    async def deliver(self, message: Any) -> None:
        """Deliver, waiting for room: for pipelines inside the node that must not drop (committed entries)."""
        self._check_alive()
        await self._mailbox.put(Envelope(message, None))

    async def ask(self, message: Any, timeout: float) -> Any:
        """Deliver and wait for the handler's answer; raises TimeoutError, MailboxFull, ActorStopped/Crashed,
        or whatever exception the handler raised for this message."""
        self._check_alive()
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        try:
            self._mailbox.put_nowait(Envelope(message, reply))
        except asyncio.QueueFull:
            raise MailboxFull(f"{self.name}: mailbox full ({self._mailbox.maxsize} messages)") from None
        self._pending.add(reply)
        reply.add_done_callback(self._pending.discard)
        # cheaper than asyncio.timeout() on this hot path: the timer fails the reply, not the task
        timer = reply.get_loop().call_later(timeout, _expire, reply, self.name, timeout)
        try:
            return await reply
        finally:
            timer.cancel()

    def queued(self) -> int:
        return self._mailbox.qsize()

    # --- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        if self._tasks:
            raise RuntimeError(f"{self.name} already started")
        self.spawn(self._run(), "mailbox", forever=True)

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str, *, forever: bool = False) -> asyncio.Task[Any]:
        """Run a helper task under this actor's supervision: if it raises (or, when `forever`, returns at
        all) the actor has crashed. Stopping the actor cancels it."""
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.name}.{what}")
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._task_done(done, forever))
        return task

    def every(self, interval: float, make: Callable[[], Any], what: str = "timer") -> asyncio.Task[Any]:
        """Timers arrive as messages: tell `make()` every `interval` seconds; a full mailbox skips a beat."""

        async def beat() -> None:
            while True:
                await asyncio.sleep(interval)
                try:
                    self.tell(make())
                except MailboxFull:
                    continue
                except ActorError:
                    return

        return self.spawn(beat(), what, forever=True)

    async def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        try:
            if self._failure is None:
                await self.on_stop()
        finally:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._fail_pending(ActorStopped(f"{self.name} stopped"))

    # --- internals ----------------------------------------------------------------------------------

    def _check_alive(self) -> None:
        if self._failure is not None:
            raise ActorCrashed(f"{self.name} crashed: {self._failure!r}")
        if self._stopping:
            raise ActorStopped(f"{self.name} is stopping")

    async def _run(self) -> None:
        await self.on_start()
        while True:
            envelope = await self._mailbox.get()
            reply = envelope.reply
            if reply is not None and reply.done():  # the asker gave up while it waited in the mailbox
                continue
            self.current_reply = reply
            try:
                result = await self.handle(envelope.message)
            except asyncio.CancelledError:
                if reply is not None and not reply.done():
                    reply.set_exception(ActorStopped(f"{self.name} stopped"))
                raise
            except ActorError as exc:
                self._answer_error(envelope, exc)
                continue
            except Exception as exc:
                if reply is None:
                    raise  # nobody to tell: a failed tell is a crash, never silent
                reject(reply, exc)
                continue
            if reply is not None:
                _chain(result, reply)

    def _answer_error(self, envelope: Envelope, exc: ActorError) -> None:
        if envelope.reply is not None and not envelope.reply.done():
            envelope.reply.set_exception(exc)
        else:
            log.warning("%s: %s", self.name, exc)

    def _task_done(self, task: asyncio.Task[Any], forever: bool) -> None:
        self._tasks.discard(task)
        if task.cancelled() or self._stopping:
            return
        exc = task.exception()
        if exc is None:
            if not forever:
                return
            exc = RuntimeError(f"task {task.get_name()} returned while the actor was running")
        if self._failure is None:
            self._failure = exc
            self._fail_pending(ActorCrashed(f"{self.name} crashed: {exc!r}"))
            for other in list(self._tasks):
                other.cancel()
            if self.supervisor is not None:
                self.supervisor(self, exc)
            else:
                log.critical("%s crashed with no supervisor", self.name, exc_info=exc)

    def _fail_pending(self, exc: ActorError) -> None:
        for reply in list(self._pending):
            if not reply.done():
                reply.set_exception(exc)
        self._pending.clear()
        while not self._mailbox.empty():
            envelope = self._mailbox.get_nowait()
            if envelope.reply is not None and not envelope.reply.done():
                envelope.reply.set_exception(exc)


def _chain(result: Any, reply: asyncio.Future[Any]) -> None:
    """Answer `reply` with `result`, or later with the outcome of `result` if it is a future (unless it is
    `reply` itself: then whoever holds it answers it)."""
    if result is reply:
        return
    if isinstance(result, asyncio.Future):
        if reply.done():
            return

        def copy(source: asyncio.Future[Any]) -> None:
            if reply.done():
                return
            if source.cancelled():
                reply.set_exception(ActorStopped("the answer was abandoned"))
            elif source.exception() is not None:
                reply.set_exception(source.exception())  # type: ignore[arg-type]
            else:
                reply.set_result(source.result())

        result.add_done_callback(copy)
        # the asker timing out must not leave the source future registered forever
        reply.add_done_callback(lambda _r: result.cancel() if not result.done() else None)
        return
    if not reply.done():
        reply.set_result(result)


def _expire(reply: asyncio.Future[Any], name: str, timeout: float) -> None:
    if not reply.done():
        reply.set_exception(TimeoutError(f"{name} did not answer within {timeout:g}s"))


def resolve(future: asyncio.Future[Any] | None, value: Any) -> None:
    """Set a future's result unless its waiter already gave up."""
    if future is not None and not future.done():
        future.set_result(value)


def reject(future: asyncio.Future[Any] | None, exc: BaseException) -> None:
    if future is not None and not future.done():
        future.set_exception(exc)


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    if task is None or task.done():
        return
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
