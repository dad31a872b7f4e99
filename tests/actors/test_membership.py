"""MembershipActor: a change that meets another in progress waits for that one to apply (no polling)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from actors.base import Actor, resolve
from actors.consensus import ProposeConfChange
from actors.membership import Join, MembershipActor
from actors.state_machine import AwaitApplied
from farm.results import Ok, Rejected
from raft.errors import ConfChangeInProgress
from raft.types import Member, Membership


class FakeRaft(Actor):
    """Refuses proposals while the change at index 7 (term 2) is in progress; accepts them after."""

    def __init__(self) -> None:
        super().__init__("raft")
        self.node = SimpleNamespace(
            membership=Membership((Member("n1", "a1", True),)),
            log=SimpleNamespace(term=lambda index: 2, snapshot_index=0),  # entry 8 of term 2: committed
            commit_index=8,
            pending_conf_change=lambda: None,
        )
        self.in_progress = True
        self.proposals = 0

    async def handle(self, message: Any) -> Any:
        assert isinstance(message, ProposeConfChange)
        self.proposals += 1
        if self.in_progress:
            raise ConfChangeInProgress("configuration entry 7 is not committed yet", 7, 2)
        return (8, 2)


class FakeStateMachine(Actor):
    """Answers AwaitApplied for index 7 when the test applies it; later indexes at once."""

    def __init__(self, raft: FakeRaft) -> None:
        super().__init__("sm")
        self.raft = raft
        self.waiting: list[tuple[int, int, asyncio.Future[Any]]] = []

    async def handle(self, message: Any) -> Any:
        assert isinstance(message, AwaitApplied)
        if message.index == 7:
            reply = self.current_reply
            self.waiting.append((message.index, message.term, reply))
            return reply
        return Ok(None)

    def apply_seven(self) -> None:
        self.raft.in_progress = False
        for _index, _term, reply in self.waiting:
            resolve(reply, Ok(None))


async def until(condition: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.001)


def test_a_join_waits_for_the_change_in_progress_to_apply_then_goes() -> None:
    async def scenario() -> None:
        raft = FakeRaft()
        state_machine = FakeStateMachine(raft)
        membership = MembershipActor("n1", "a1", raft, state_machine)  # type: ignore[arg-type]
        for actor in (raft, state_machine, membership):
            actor.start()
        try:
            joined = asyncio.ensure_future(membership.ask(Join("n2", "a2", 5.0), 5.0))
            await until(lambda: state_machine.waiting)
            assert state_machine.waiting[0][:2] == (7, 2)  # it waits for entry 7 itself
            await asyncio.sleep(0.2)
            assert raft.proposals == 1 and not joined.done()  # no retries while it waits
            state_machine.apply_seven()
            outcome = await joined
            assert outcome == Ok({"node_id": "n2", "addr": "a2", "status": "joined"})
            assert raft.proposals == 2
        finally:
            for actor in (membership, state_machine, raft):
                await actor.stop()

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_join_that_waits_past_its_deadline_is_answered_change_pending() -> None:
    async def scenario() -> None:
        raft = FakeRaft()
        state_machine = FakeStateMachine(raft)
        membership = MembershipActor("n1", "a1", raft, state_machine)  # type: ignore[arg-type]
        for actor in (raft, state_machine, membership):
            actor.start()
        try:
            outcome = await membership.ask(Join("n2", "a2", 0.2), 5.0)
            assert isinstance(outcome, Rejected) and outcome.code == "change_pending", outcome
            assert raft.proposals == 1  # it waited for entry 7 instead of proposing again
        finally:
            for actor in (membership, state_machine, raft):
                await actor.stop()

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_node_started_with_join_sends_its_token() -> None:
    """Once access control is on, POST /join needs an admin token: a node started with --join sends the one
    it was given (--join-token / PRINTFARM_TOKEN) as a bearer header, or it would retry a 401 forever."""
    import http.server
    import threading

    seen: list[str | None] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.headers.get("Authorization"))
            status = 200 if seen[-1] == "Bearer pf_admin" else 401
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        actor = MembershipActor("n4", "127.0.0.1:9004", None, None, join_url=url, join_token="pf_admin")  # type: ignore[arg-type]
        asyncio.run(asyncio.wait_for(actor._join_at_start(url), 5))
        assert seen == ["Bearer pf_admin"]
    finally:
        server.shutdown()
        server.server_close()
