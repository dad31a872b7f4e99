"""RaftActor's pipelined Ready loop: a real core as leader, its disk held in the test's hand, two real
follower cores that answer at once. Checks what may and may not wait for the leader's own fsync."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

import pytest

from actors.consensus import ProposeAndAwait, RaftActor, Step
from actors.metrics import NodeMetrics
from actors.state_machine import Apply, LeadershipLost
from raft.core import RaftConfig, RaftNode, Role
from raft.messages import AppendEntries, Message
from raft.types import Entry, HardState, Member, Membership, RecoveredState, Snapshot

IDS = ("n1", "n2", "n3")


def recovered() -> RecoveredState:
    membership = Membership(tuple(Member(node_id, f"addr-{node_id}", True) for node_id in IDS))
    return RecoveredState(HardState(1, None, 1), Snapshot(1, 1, membership, b""))


def core(node_id: str) -> RaftNode:
    config = RaftConfig(node_id, pre_vote=False)
    return RaftNode(config, recovered(), random.Random(7))


class HeldDisk:
    """Every write waits until the test releases it; writes are recorded in call order."""

    def __init__(self) -> None:
        self.writes: list[tuple[HardState | None, list[Entry], asyncio.Future[None]]] = []
        self.held = True

    def save_nowait(self, hard_state: HardState | None, entries: Sequence[Entry]) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.writes.append((hard_state, list(entries), done))
        if not self.held:
            done.set_result(None)
        return done

    async def save(self, hard_state: HardState | None, entries: Sequence[Entry]) -> None:
        await self.save_nowait(hard_state, entries)

    def release_all(self) -> None:
        for _hard_state, _entries, done in self.writes:
            if not done.done():
                done.set_result(None)

    def pending(self) -> int:
        return sum(not done.done() for _hs, _entries, done in self.writes)


class Followers:
    """The transport: messages to n2/n3 are stepped into real cores whose disks are instant; what they send
    back reaches the actor as Step messages. Every message the leader sent is kept."""

    def __init__(self) -> None:
        self.cores = {node_id: core(node_id) for node_id in IDS[1:]}
        self.sent: list[Message] = []
        self.actor: RaftActor | None = None
        self.cut = False  # drop everything the leader sends

    def send_raft(self, messages: Sequence[Message]) -> None:
        for message in messages:
            self.sent.append(message)
            if self.cut:
                continue
            follower = self.cores[message.recipient]
            follower.step(message)
            while follower.has_ready():
                ready = follower.ready()
                follower.advance(ready)
                assert self.actor is not None
                for answer in (*ready.messages, *ready.persisted_messages):
                    self.actor.tell(Step(answer))

    def set_committed_peers(self, addresses: dict[str, str]) -> None:
        pass  # the followers here are reached directly


class StateMachine:
    def __init__(self) -> None:
        self.applied: list[int] = []
        self.awaited: list[int] = []  # indexes of proposals waiting for their apply

    async def deliver(self, message: Any) -> None:
        if isinstance(message, Apply):
            self.awaited.extend(waiter.index for waiter in message.waiters)
            self.applied.extend(entry.index for entry in message.entries)

    def tell(self, message: Any) -> None:
        pass


async def until(condition: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.001)


async def propose(actor: RaftActor, state_machine: StateMachine, data: bytes) -> int:
    """The index the leader gave the proposal (its answer would come from the state machine)."""
    last = actor.node.last_index
    actor.tell(ProposeAndAwait(data))
    await until(lambda: actor.node.last_index > last)
    return actor.node.last_index


async def leader_with_held_disk() -> tuple[RaftActor, HeldDisk, Followers, StateMachine]:
    disk, followers, state_machine = HeldDisk(), Followers(), StateMachine()
    node = core("n1")
    actor = RaftActor(node, disk, followers, state_machine, NodeMetrics("n1"), tick_seconds=3600)  # type: ignore[arg-type]
    followers.actor = actor
    actor.start()
    node.campaign()
    actor._wake.set()  # as the mailbox does after feeding the core
    await until(lambda: disk.pending() > 0)
    disk.release_all()  # the candidate's term and vote: its vote requests may leave now
    await until(lambda: node.role is Role.LEADER and disk.pending() > 0)
    disk.release_all()  # the leader's no-op
    await until(lambda: node.commit_index == node.last_index and actor.pipeline.idle)
    return actor, disk, followers, state_machine


def test_entries_commit_and_apply_while_the_leaders_own_write_is_in_flight() -> None:
    async def scenario() -> None:
        actor, disk, followers, state_machine = await leader_with_held_disk()
        try:
            writes_before = len(disk.writes)
            index = await propose(actor, state_machine, b"x")
            # The AppendEntries left without waiting for the leader's disk; both followers acked durably,
            # a majority without the leader, so x commits and applies with the leader's write still held.
            await until(lambda: index in state_machine.applied)
            assert disk.pending() == 1
            assert any(
                isinstance(m, AppendEntries) and any(e.index == index for e in m.entries)
                for m in followers.sent
            )
            # The commit index moved alone after that: it costs no write of its own.
            assert all(entries for _hs, entries, _done in disk.writes[writes_before:])
            assert actor.node.log.stable_index < index  # the leader does not count its own copy yet
            disk.release_all()
            await until(lambda: actor.pipeline.idle)
            assert actor.node.log.stable_index >= index
        finally:
            disk.held = False
            disk.release_all()
            await actor.stop()

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_commit_index_not_yet_written_goes_with_the_next_write_and_at_stop() -> None:
    async def scenario() -> None:
        actor, disk, _followers, state_machine = await leader_with_held_disk()
        stopped = False
        try:
            index = await propose(actor, state_machine, b"x")
            await until(lambda: index in state_machine.applied)
            disk.release_all()
            await until(lambda: actor.pipeline.idle)
            written = [hs for hs, _entries, _done in disk.writes if hs is not None]
            assert all(hs.commit < index for hs in written)  # x's commit is not on disk yet
            second = await propose(actor, state_machine, b"y")
            await until(lambda: disk.pending() > 0)
            hard_state, entries, _done = disk.writes[-1]
            assert [e.index for e in entries] == [second]
            assert hard_state is not None and hard_state.commit >= index  # it rode along with y
            disk.release_all()
            await until(lambda: second in state_machine.applied and actor.pipeline.idle)
            stop = asyncio.create_task(actor.stop())
            await until(lambda: disk.pending() > 0)  # stopping writes the last commit index
            assert disk.writes[-1][0] is not None and disk.writes[-1][0].commit >= second
            assert disk.writes[-1][1] == []
            disk.release_all()
            await stop
            stopped = True
        finally:
            if not stopped:
                disk.held = False
                disk.release_all()
                await actor.stop()

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_write_waiting_when_leadership_moves_fails_at_once() -> None:
    """Its future is held by the RaftActor until the next Apply: a deposed leader fails it itself."""

    async def scenario() -> None:
        actor, disk, followers, _state_machine = await leader_with_held_disk()
        try:
            followers.cut = True  # no acks: the write cannot commit
            write = asyncio.ensure_future(actor.ask(ProposeAndAwait(b"x"), 5))
            await until(lambda: actor.node.last_index > actor.node.commit_index)
            term = actor.node.term
            actor.tell(Step(AppendEntries("n2", "n1", term + 1, 0, 0, (), 0)))  # a newer leader
            with pytest.raises(LeadershipLost):
                await write
        finally:
            disk.held = False
            disk.release_all()
            await actor.stop()

    asyncio.run(asyncio.wait_for(scenario(), 30))
