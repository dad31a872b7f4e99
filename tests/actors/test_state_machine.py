from __future__ import annotations

import asyncio
from typing import Any

import pytest

from actors.state_machine import (
    RECENT_RESULTS_BYTES,
    Apply,
    AwaitApplied,
    LeadershipLost,
    LeadershipMoved,
    QueryAt,
    Restore,
    StateMachineActor,
)
from farm.codec import encode_command, encode_proposal
from farm.commands import CreatePrinter
from farm.queries import GetPrinter, ListPrinters
from farm.results import Ok, Page, Rejected
from farm.state import FarmState
from raft.codec import encode_conf_change
from raft.types import ConfChange, ConfChangeKind, Entry, EntryKind, Member, Membership, Snapshot
from tests.support.seed import PRINTER_WORKFLOW

BOOT = Snapshot(1, 1, Membership((Member("n1", "a1", True),)))


def printer_entry(index: int, term: int, printer_id: str, key: str | None = None) -> Entry:
    data = encode_proposal(encode_command(CreatePrinter(printer_id, "HP", "L12")), 1_700_000_000_000, key)
    return Entry(term, index, EntryKind.NORMAL, data)


def big_printer_entry(index: int, printer_id: str, size: int) -> Entry:
    command = encode_command(CreatePrinter(printer_id, "x" * size, "L12"))
    return Entry(1, index, EntryKind.NORMAL, encode_proposal(command, 1_700_000_000_000, None))


def printers_in(outcome: object) -> list[str]:
    assert isinstance(outcome, Ok) and isinstance(outcome.value, Page)
    return [item["id"] for item in outcome.value.items]


class Saved:
    def __init__(self) -> None:
        self.saved: list[Snapshot] = []
        self.compacted: list[Snapshot] = []

    async def save(self, snapshot: Snapshot) -> None:
        self.saved.append(snapshot)

    async def compact(self, snapshot: Snapshot) -> None:
        self.compacted.append(snapshot)


def make(snapshot_every: int = 10_000, snapshot: Snapshot | None = BOOT) -> tuple[StateMachineActor, Saved]:
    saved = Saved()
    actor = StateMachineActor(
        "n1", snapshot, save_snapshot=saved.save, compact=saved.compact, snapshot_every=snapshot_every
    )
    actor.start()
    return actor, saved


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 10))


def test_a_write_waiter_gets_its_outcome_whether_it_arrives_before_or_after_the_apply() -> None:
    async def scenario() -> None:
        actor, _ = make()
        early = asyncio.ensure_future(actor.ask(AwaitApplied(2, 1), 5))
        await asyncio.sleep(0)
        await actor.deliver(Apply((printer_entry(2, 1, "p1"), printer_entry(3, 1, "p1"))))
        assert await early == Ok({"id": "p1", "company": "HP", "model": "L12", **PRINTER_WORKFLOW})
        late = await actor.ask(AwaitApplied(3, 1), 5)
        assert isinstance(late, Rejected) and late.code == "already_exists"
        assert actor.applied_index == 3
        await actor.stop()

    run(scenario())


def test_waiters_carried_by_an_apply_are_registered_before_its_entries_apply() -> None:
    """How the RaftActor hands proposers' futures over: with the next Apply, no message of their own."""

    async def scenario() -> None:
        actor, _ = make()
        loop = asyncio.get_running_loop()
        first, replaced, later = loop.create_future(), loop.create_future(), loop.create_future()
        waiters = (AwaitApplied(2, 1, first), AwaitApplied(3, 1, replaced), AwaitApplied(4, 1, later))
        await actor.deliver(Apply((printer_entry(2, 1, "p1"), printer_entry(3, 2, "p2")), waiters))
        assert await first == Ok({"id": "p1", "company": "HP", "model": "L12", **PRINTER_WORKFLOW})
        with pytest.raises(LeadershipLost):
            await replaced  # index 3 went to another term's entry
        assert not later.done()  # its entry has not applied yet: it stays registered
        await actor.deliver(Apply((printer_entry(4, 1, "p4"),)))
        assert (await later).value["id"] == "p4"
        await actor.stop()

    run(scenario())


def test_a_reply_future_handed_over_by_tell_is_answered_directly() -> None:
    """How the RaftActor passes a proposer's future on: the state machine answers it, and only it."""

    async def scenario() -> None:
        actor, _ = make()
        loop = asyncio.get_running_loop()
        early, late, replaced = loop.create_future(), loop.create_future(), loop.create_future()
        actor.tell(AwaitApplied(2, 1, early))
        actor.tell(AwaitApplied(3, 1, replaced))
        await actor.deliver(Apply((printer_entry(2, 1, "p1"), printer_entry(3, 2, "p2"))))
        actor.tell(AwaitApplied(2, 1, late))  # after the apply: answered from the recent outcomes
        assert await early == Ok({"id": "p1", "company": "HP", "model": "L12", **PRINTER_WORKFLOW})
        assert await late == await early
        with pytest.raises(LeadershipLost):
            await replaced
        await actor.stop()

    run(scenario())


def test_a_waiter_whose_entry_was_replaced_learns_leadership_was_lost() -> None:
    async def scenario() -> None:
        actor, _ = make()
        waiter = asyncio.ensure_future(actor.ask(AwaitApplied(2, 1), 5))
        await asyncio.sleep(0)
        await actor.deliver(Apply((printer_entry(2, 2, "other"),)))  # term 2's entry won index 2
        with pytest.raises(LeadershipLost):
            await waiter
        with pytest.raises(LeadershipLost):
            await actor.ask(AwaitApplied(2, 1), 5)
        await actor.stop()

    run(scenario())


def test_losing_leadership_fails_pending_writes_so_they_retry_elsewhere() -> None:
    async def scenario() -> None:
        actor, _ = make()
        waiter = asyncio.ensure_future(actor.ask(AwaitApplied(3, 2), 5))
        await asyncio.sleep(0)
        actor.tell(LeadershipMoved())
        with pytest.raises(LeadershipLost):
            await waiter
        await actor.deliver(Apply((printer_entry(2, 1, "p1"),)))
        assert printers_in(await actor.ask(QueryAt(ListPrinters(), 2), 5)) == ["p1"]  # applying goes on
        await actor.stop()

    run(scenario())


def test_reads_wait_for_their_read_index() -> None:
    async def scenario() -> None:
        actor, _ = make()
        read = asyncio.ensure_future(actor.ask(QueryAt(GetPrinter("p1"), 2), 5))
        stale = await actor.ask(QueryAt(GetPrinter("p1"), 0), 5)
        assert isinstance(stale, Rejected) and stale.code == "not_found"
        assert not read.done()
        await actor.deliver(Apply((printer_entry(2, 1, "p1"),)))
        assert await read == Ok({"id": "p1", "company": "HP", "model": "L12", **PRINTER_WORKFLOW})
        await actor.stop()

    run(scenario())


def test_snapshots_every_n_entries_carry_membership_and_state() -> None:
    async def scenario() -> None:
        actor, saved = make(snapshot_every=3)
        change = ConfChange(ConfChangeKind.ADD_LEARNER, "n2", "a2")
        entries = [Entry(1, 2, EntryKind.CONF_CHANGE, encode_conf_change(change)), Entry(2, 3)]
        entries += [printer_entry(index, 2, f"p{index}") for index in range(4, 9)]
        await actor.deliver(Apply(tuple(entries)))
        async with asyncio.timeout(5):
            while not saved.compacted:
                await asyncio.sleep(0.001)
        snapshot = saved.saved[0]
        assert (snapshot.index, snapshot.term) == (8, 2)  # all of one Apply, then one snapshot
        assert snapshot.membership.get("n2") == Member("n2", "a2", False)
        restored = FarmState.restore(snapshot.data).query(ListPrinters())
        assert isinstance(restored, Ok) and isinstance(restored.value, Page) and restored.value.total == 5
        assert saved.compacted == [snapshot]
        await actor.stop()

    run(scenario())


def test_restore_replaces_the_farm_and_fails_writes_it_swallowed() -> None:
    async def scenario() -> None:
        source = FarmState()
        source.apply(5, printer_entry(5, 3, "from-snapshot").data)
        actor, _ = make()
        waiter = asyncio.ensure_future(actor.ask(AwaitApplied(4, 2), 5))
        read = asyncio.ensure_future(actor.ask(QueryAt(GetPrinter("from-snapshot"), 6), 5))
        await asyncio.sleep(0)
        await actor.deliver(Restore(Snapshot(6, 3, BOOT.membership, source.snapshot())))
        with pytest.raises(LeadershipLost):
            await waiter
        assert (await read).value["id"] == "from-snapshot"
        await actor.deliver(Apply((printer_entry(6, 3, "old"), printer_entry(7, 3, "new"))))
        assert (await actor.ask(QueryAt(ListPrinters(), 7), 5)).value.total == 2
        await actor.stop()

    run(scenario())


def _ids(frames: bytes) -> list[int]:
    return [int(line[4:]) for line in frames.decode().split("\n") if line.startswith("id: ")]


def test_event_streams_resume_from_the_backlog_and_a_snapshot_install_resets_them() -> None:
    async def scenario() -> None:
        actor, _ = make()
        await actor.deliver(Apply(tuple(printer_entry(index, 1, f"p{index}") for index in range(2, 6))))
        await actor.ask(QueryAt(ListPrinters(), 5), 5)
        resumed = actor.events.subscribe(3)
        assert _ids(await resumed.read(1)) == [4, 5]
        await actor.deliver(Restore(Snapshot(9, 2, BOOT.membership, FarmState().snapshot())))
        await actor.deliver(Apply((printer_entry(10, 2, "after"),)))
        await actor.ask(QueryAt(ListPrinters(), 10), 5)
        text = (await resumed.read(1)).decode()
        # indexes 6..9 came in the snapshot, not as events: the stream says so before going on
        assert text.startswith('event: reset\ndata: {"oldest_index":10,')
        assert _ids(text.encode()) == [10]
        assert actor.events.floor == 9
        await actor.stop()

    run(scenario())


def test_a_gap_in_committed_entries_crashes_loudly() -> None:
    async def scenario() -> None:
        crashes: list[BaseException] = []
        saved = Saved()
        actor = StateMachineActor(
            "n1",
            BOOT,
            save_snapshot=saved.save,
            compact=saved.compact,
            supervisor=lambda _actor, exc: crashes.append(exc),
        )
        actor.start()
        await actor.deliver(Apply((printer_entry(3, 1, "p"),)))
        async with asyncio.timeout(5):
            while not crashes:
                await asyncio.sleep(0.001)
        assert "gap" in str(crashes[0])
        await actor.stop()

    run(scenario())


def test_the_recent_outcomes_have_a_byte_budget_and_the_newest_still_answers_a_late_waiter() -> None:
    """4,096 outcomes of 64 KiB objects held ~120 MiB: the cache is bounded by bytes too, oldest first."""

    async def scenario() -> None:
        actor, _ = make()
        size = 64 * 1024
        count = RECENT_RESULTS_BYTES // size + 64
        for index in range(2, 2 + count):
            await actor.deliver(Apply((big_printer_entry(index, f"p{index}", size),)))
        last = 1 + count
        assert (await actor.ask(QueryAt(GetPrinter(f"p{last}"), 0), 5)).value["id"] == f"p{last}"
        assert actor._recent_bytes == sum(weight for _, _, weight in actor._recent.values())
        assert size * 8 < actor._recent_bytes <= RECENT_RESULTS_BYTES
        assert len(actor._recent) < count
        late = await actor.ask(AwaitApplied(last, 1), 5)
        assert isinstance(late, Ok) and late.value["id"] == f"p{last}"
        with pytest.raises(LeadershipLost, match="outcome unknown"):
            await actor.ask(AwaitApplied(2, 1), 5)
        await actor.stop()

    run(scenario())
