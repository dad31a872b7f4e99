"""The idempotency tables are bounded by bytes, deterministically: every node keeps the same records."""

from __future__ import annotations

from farm.commands import CreatePrinter, DeletePrinter
from farm.idempotency import INTERNAL_MAX_BYTES, MAX_BYTES, IdempotencyTable, fingerprint
from farm.results import Ok
from farm.state import FarmState
from tests.farm.harness import Farm

BIG = "x" * 60_000
FP = fingerprint(b"command")


def test_large_outcomes_are_kept_within_the_byte_budget_oldest_first() -> None:
    table = IdempotencyTable(max_bytes=200_000)
    for number in range(10):
        table.remember(f"k{number}", number + 1, FP, Ok({"id": f"p{number}", "company": BIG}))
        assert table.size_bytes <= 200_000
    assert len(table) == 3
    assert table.recall("k6", FP) is None and table.recall("k9", FP) == Ok({"id": "p9", "company": BIG})
    assert table.size_bytes == len(table.to_blob())


def test_the_create_delete_loop_keeps_the_state_small() -> None:
    farm = Farm()
    for number in range(600):
        farm.ok(CreatePrinter("p", BIG, "m"), key=f"create-{number}")
        farm.ok(DeletePrinter("p"), key=f"delete-{number}")
    size = len(farm.state.snapshot())
    assert size <= MAX_BYTES + INTERNAL_MAX_BYTES + 64 * 1024
    assert size < 600 * 60_000 / 2  # without the budget it holds every 60 KB outcome


def test_restoring_anywhere_keeps_the_same_records_as_applying_everything() -> None:
    """A node that restores a snapshot and applies the rest ends with the same state as one that applied it
    all: the budget keeps the longest run of newest records that fits, whatever the starting point."""
    def run(restore_at: int | None) -> bytes:
        farm = Farm()
        for number in range(300):
            if number == restore_at:
                index = farm.index
                farm = Farm(FarmState.restore(farm.state.snapshot()))
                farm.index = index
                farm.at_ms += 1000 * index
            farm.propose(CreatePrinter(f"p{number % 7}", BIG[: 1000 * (number % 50)], "m"), key=f"k{number}")
            farm.propose(DeletePrinter(f"p{(number + 3) % 7}"), key=f"d{number}")
        return farm.state.snapshot()

    everything = run(None)
    assert run(120) == everything and run(299) == everything


def test_a_blob_over_the_budget_loads_as_its_newest_records() -> None:
    big = IdempotencyTable(max_bytes=10_000_000)
    for number in range(8):
        big.remember(f"k{number}", number + 1, FP, Ok({"company": BIG}))
    small = IdempotencyTable(max_bytes=130_000)
    small.load(big.to_blob())
    assert len(small) == 2 and small.recall("k7", FP) is not None and small.recall("k5", FP) is None
    assert small.size_bytes == len(small.to_blob()) <= 130_000
