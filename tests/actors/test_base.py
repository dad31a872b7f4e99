from __future__ import annotations

import asyncio
from typing import Any

import pytest

from actors.base import Actor, ActorCrashed, ActorStopped, MailboxFull


class Echo(Actor):
    """Answers ("echo", x) at once, ("later", x) via a future resolved by ("release",), crashes on "boom"."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("echo", **kwargs)
        self.held: list[asyncio.Future[Any]] = []
        self.seen: list[Any] = []
        self.started = False
        self.stopped = False

    async def on_start(self) -> None:
        self.started = True

    async def on_stop(self) -> None:
        self.stopped = True

    async def handle(self, message: Any) -> Any:
        self.seen.append(message)
        match message:
            case ("echo", value):
                return value
            case ("later", value):
                future = asyncio.get_running_loop().create_future()
                self.held.append(future)
                future.add_done_callback(lambda f: None)
                return _with_value(future, value)
            case ("release",):
                for future in self.held:
                    if not future.done():
                        future.set_result(None)
                return None
            case ("fail",):
                raise ValueError("bad request")
            case "boom":
                raise RuntimeError("boom")
            case ("wait", event):
                await event.wait()
                return "waited"
        return None


def _with_value(source: asyncio.Future[Any], value: Any) -> asyncio.Future[Any]:
    out = asyncio.get_running_loop().create_future()
    source.add_done_callback(lambda _f: out.done() or out.set_result(value))
    return out


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 10))


def test_ask_answers_at_once_and_later_without_blocking_the_mailbox() -> None:
    async def scenario() -> None:
        actor = Echo()
        actor.start()
        later = asyncio.ensure_future(actor.ask(("later", "slow"), timeout=5))
        assert await actor.ask(("echo", 1), timeout=5) == 1  # not stuck behind the deferred answer
        assert not later.done()
        actor.tell(("release",))
        assert await later == "slow"
        assert actor.started
        await actor.stop()
        assert actor.stopped

    run(scenario())


def test_handler_exception_goes_to_the_asker_only() -> None:
    async def scenario() -> None:
        actor = Echo()
        actor.start()
        with pytest.raises(ValueError, match="bad request"):
            await actor.ask(("fail",), timeout=5)
        assert await actor.ask(("echo", 2), timeout=5) == 2
        await actor.stop()

    run(scenario())


def test_full_mailbox_raises_mailbox_full() -> None:
    async def scenario() -> None:
        actor = Echo(mailbox_size=2)
        actor.tell(("echo", 1))
        actor.tell(("echo", 2))
        with pytest.raises(MailboxFull):
            actor.tell(("echo", 3))
        with pytest.raises(MailboxFull):
            await actor.ask(("echo", 4), timeout=1)
        actor.start()
        async with asyncio.timeout(5):
            while actor.queued():
                await asyncio.sleep(0.001)
        assert await actor.ask(("echo", 5), timeout=5) == 5
        assert actor.seen == [("echo", 1), ("echo", 2), ("echo", 5)]
        await actor.stop()

    run(scenario())


def test_crash_fails_pending_asks_and_reports_to_the_supervisor() -> None:
    async def scenario() -> None:
        crashes: list[tuple[str, BaseException]] = []
        actor = Echo(supervisor=lambda a, exc: crashes.append((a.name, exc)))
        actor.start()
        held = asyncio.ensure_future(actor.ask(("later", "x"), timeout=5))
        gate = asyncio.Event()
        blocked = asyncio.ensure_future(actor.ask(("wait", gate), timeout=5))
        queued = asyncio.ensure_future(actor.ask(("echo", 3), timeout=5))
        await asyncio.sleep(0)
        actor.tell("boom")  # a failed tell has nobody to answer: it is a crash
        gate.set()
        assert await blocked == "waited"
        with pytest.raises(ActorCrashed):
            await held
        results = await asyncio.gather(queued, return_exceptions=True)
        assert results == [3]  # queued before the crash message, so answered
        assert [name for name, _ in crashes] == ["echo"]
        assert isinstance(crashes[0][1], RuntimeError)
        with pytest.raises(ActorCrashed):
            actor.tell(("echo", 4))
        await actor.stop()

    run(scenario())


def test_stop_fails_pending_asks_with_actor_stopped() -> None:
    async def scenario() -> None:
        actor = Echo()
        actor.start()
        held = asyncio.ensure_future(actor.ask(("later", "x"), timeout=5))
        await asyncio.sleep(0.01)
        await actor.stop()
        with pytest.raises(ActorStopped):
            await held
        with pytest.raises(ActorStopped):
            await actor.ask(("echo", 1), timeout=1)

    run(scenario())


def test_ask_times_out_and_the_late_answer_is_ignored() -> None:
    async def scenario() -> None:
        actor = Echo()
        actor.start()
        with pytest.raises(TimeoutError):
            await actor.ask(("later", "x"), timeout=0.05)
        actor.tell(("release",))
        assert await actor.ask(("echo", "still alive"), timeout=5) == "still alive"
        await actor.stop()

    run(scenario())


def test_timers_arrive_as_messages() -> None:
    async def scenario() -> None:
        actor = Echo()
        actor.start()
        actor.every(0.001, lambda: ("echo", "tick"))
        async with asyncio.timeout(5):
            while actor.seen.count(("echo", "tick")) < 3:
                await asyncio.sleep(0.005)
        await actor.stop()

    run(scenario())


def test_a_helper_task_that_dies_crashes_the_actor() -> None:
    async def scenario() -> None:
        crashes: list[BaseException] = []
        actor = Echo(supervisor=lambda _a, exc: crashes.append(exc))
        actor.start()

        async def broken() -> None:
            raise OSError("disk gone")

        held = asyncio.ensure_future(actor.ask(("later", 1), timeout=5))
        await asyncio.sleep(0)
        actor.spawn(broken(), "persist")
        with pytest.raises(ActorCrashed, match="disk gone"):
            await held
        assert len(crashes) == 1 and isinstance(crashes[0], OSError)
        await actor.stop()

    run(scenario())
