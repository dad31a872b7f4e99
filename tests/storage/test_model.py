"""Random append / overwrite / hard state / snapshot / reopen sequences against an in-memory model."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from raft.storage import Storage
from raft.types import Entry, HardState, Member, Membership, RecoveredState, Snapshot

SEGMENT_BYTES = 300  # small, so that rotation and compaction happen all the time


class Model:
    """What a correct storage remembers."""

    def __init__(self) -> None:
        self.hard_state = HardState()
        self.snapshot: Snapshot | None = None
        self.base = 0
        self.base_term = 0
        self.log: list[Entry] = []  # indexes base+1 ..

    @property
    def last(self) -> int:
        return self.base + len(self.log)

    def term_at(self, index: int) -> int | None:
        if index == self.base:
            return self.base_term
        return self.log[index - self.base - 1].term if self.base < index <= self.last else None

    def save(self, hard_state: HardState | None, entries: list[Entry]) -> None:
        if entries:
            self.log = self.log[: entries[0].index - self.base - 1] + entries
        self.hard_state = hard_state or self.hard_state

    def save_snapshot(self, snapshot: Snapshot) -> None:
        if snapshot.index < self.base:
            return
        agrees = self.term_at(snapshot.index) == snapshot.term
        self.log = self.log[snapshot.index - self.base :] if agrees else []
        self.base, self.base_term, self.snapshot = snapshot.index, snapshot.term, snapshot

    def recovered(self) -> RecoveredState:
        return RecoveredState(self.hard_state, self.snapshot, tuple(self.log))


class StorageMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="storage-model-"))
        self.loop = asyncio.new_event_loop()
        self.storage = Storage.open(self.dir, "n1", segment_bytes=SEGMENT_BYTES)
        self.model = Model()
        self.term = 1

    def run(self, coroutine):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coroutine)

    def entries(self, first: int, count: int, size: int) -> list[Entry]:
        return [
            Entry(self.term, index, data=bytes([index % 256]) * size) for index in range(first, first + count)
        ]

    @rule(count=st.integers(1, 6), size=st.integers(0, 90), with_hard_state=st.booleans())
    def append(self, count: int, size: int, with_hard_state: bool) -> None:
        batch = self.entries(self.model.last + 1, count, size)
        state = HardState(self.term, "n1", self.model.base) if with_hard_state else None
        self.run(self.storage.save(state, batch))
        self.model.save(state, batch)

    @precondition(lambda self: self.model.log)
    @rule(data=st.data(), count=st.integers(1, 4))
    def overwrite_suffix(self, data: st.DataObject, count: int) -> None:
        first = data.draw(st.integers(self.model.base + 1, self.model.last), label="first")
        self.term += 1
        batch = self.entries(first, count, 10)
        state = HardState(self.term, None, self.model.base)
        self.run(self.storage.save(state, batch))
        self.model.save(state, batch)

    @rule(saves=st.integers(2, 12))
    def concurrent_saves(self, saves: int) -> None:
        first = self.model.last + 1
        batches = [self.entries(first + k, 1, 5) for k in range(saves)]
        states = [HardState(self.term, "n2", self.model.base + k) for k in range(saves)]

        async def together() -> None:
            await asyncio.gather(*(self.storage.save(s, b) for s, b in zip(states, batches, strict=True)))

        self.run(together())
        for state, batch in zip(states, batches, strict=True):
            self.model.save(state, batch)

    @rule(data=st.data(), agree=st.booleans())
    def snapshot(self, data: st.DataObject, agree: bool) -> None:
        index = data.draw(st.integers(max(0, self.model.base - 2), self.model.last + 3), label="index")
        term = self.model.term_at(index)
        term = term if agree and term is not None else self.term + 1
        self.term = max(self.term, term)
        members = Membership((Member("n1", "a1", True), Member(f"n{index % 5}", "a2", False)))
        snapshot = Snapshot(index, term, members, f"state@{index}".encode())
        self.run(self.storage.save_snapshot(snapshot))
        self.model.save_snapshot(snapshot)

    @rule()
    def reopen(self) -> None:
        self.run(self.storage.close())
        self.storage = Storage.open(self.dir, "n1", segment_bytes=SEGMENT_BYTES)
        assert self.storage.recovered == self.model.recovered()

    @invariant()
    def emptiness_agrees(self) -> None:
        model = self.model
        assert self.storage.is_empty() == (
            model.hard_state == HardState() and not model.snapshot and not model.log
        )

    def teardown(self) -> None:
        self.run(self.storage.close())
        self.storage = Storage.open(self.dir, "n1", segment_bytes=SEGMENT_BYTES)
        try:
            assert self.storage.recovered == self.model.recovered()
        finally:
            self.run(self.storage.close())
            self.loop.close()
            shutil.rmtree(self.dir, ignore_errors=True)


StorageMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestStorageModel = StorageMachine.TestCase
