from __future__ import annotations

import pytest

from farm.commands import CreateJob, CreatePrinter, SetJobStatus
from farm.idempotency import IdempotencyTable
from farm.results import Ok, Rejected
from farm.state import FarmState
from tests.farm.harness import Farm


def test_a_retried_write_returns_the_first_outcome_and_applies_once() -> None:
    farm = Farm().seed(grams=100)
    first = farm.propose(CreateJob("j1", "printer1", "f1", 30), key="k1")
    after_first = farm.state.snapshot()
    again = farm.propose(CreateJob("j1", "printer1", "f1", 30), key="k1")
    assert again.outcome == first.outcome and isinstance(first.outcome, Ok)
    assert again.events == ()
    assert farm.state.snapshot() == after_first
    assert farm.filament("f1")["reserved_weight_in_grams"] == 30


def test_the_first_outcome_is_kept_even_after_the_object_changed() -> None:
    farm = Farm().seed()
    first = farm.propose(CreateJob("j1", "printer1", "f1", 10), key="k1").outcome
    farm.ok(SetJobStatus("j1", "Running"))
    assert farm.propose(CreateJob("j1", "printer1", "f1", 10), key="k1").outcome == first
    assert first.value["status"] == "Queued"


def test_a_refusal_is_remembered_too() -> None:
    farm = Farm().seed()
    first = farm.propose(SetJobStatus("j1", "Running"), key="k1").outcome
    assert isinstance(first, Rejected) and first.code == "not_found"
    farm.queue("j1")
    assert farm.propose(SetJobStatus("j1", "Running"), key="k1").outcome == first
    assert farm.job("j1")["status"] == "Queued"


def test_different_keys_and_no_key_apply_each_time() -> None:
    farm = Farm()
    farm.ok(CreatePrinter("p1", "HP", "L12"), key="a")
    assert farm.propose(CreatePrinter("p1", "HP", "L12"), key="b").outcome.code == "already_exists"
    assert farm.propose(CreatePrinter("p1", "HP", "L12")).outcome.code == "already_exists"


def test_keys_survive_snapshot_and_restore() -> None:
    farm = Farm().seed()
    first = farm.propose(CreateJob("j1", "printer1", "f1", 10), key="k1").outcome
    restored = Farm(FarmState.restore(farm.state.snapshot()))
    restored.index = farm.index
    assert restored.propose(CreateJob("j1", "printer1", "f1", 10), key="k1").outcome == first
    assert restored.filament("f1")["reserved_weight_in_grams"] == 10


def test_keys_expire_after_the_window_of_log_indexes() -> None:
    farm = Farm(FarmState(idempotency_window=5))
    farm.ok(CreatePrinter("p1", "HP", "L12"), key="k")  # index 1
    for n in range(4):  # indexes 2..5
        farm.ok(CreatePrinter(f"x{n}", "HP", "L12"))
    # at index 6 the key is 5 indexes old: kept; at index 7 it is 6 old: forgotten, so the retry applies again
    assert isinstance(farm.propose(CreatePrinter("p1", "HP", "L12"), key="k").outcome, Ok)
    assert farm.propose(CreatePrinter("p1", "HP", "L12"), key="k").outcome.code == "already_exists"


def test_the_oldest_keys_go_first_beyond_capacity() -> None:
    farm = Farm(FarmState(idempotency_capacity=2))
    for name in ("a", "b", "c"):
        farm.ok(CreatePrinter(name, "HP", "L12"), key=name)
    assert farm.propose(CreatePrinter("a", "HP", "L12"), key="a").outcome.code == "already_exists"
    assert isinstance(farm.propose(CreatePrinter("c", "HP", "L12"), key="c").outcome, Ok)


def test_table_bounds_directly() -> None:
    table = IdempotencyTable(window=10, capacity=3)
    for index in range(1, 5):
        table.remember(f"k{index}", index, Ok(index))
    assert len(table) == 3 and table.get("k1") is None and table.get("k2") == Ok(2)
    table.expire(13)  # k2 (index 2) is 11 old, k3 is 10 old: only k2 goes
    assert table.get("k2") is None and table.get("k3") == Ok(3) and len(table) == 2
    table.expire(10**9)
    assert len(table) == 0


def test_table_records_round_trip_and_refuse_damage() -> None:
    table = IdempotencyTable()
    table.remember("a", 1, Ok({"id": "p1"}))
    table.remember("b", 2, Rejected("not_found", "printer p9 does not exist", "id"))
    copy = IdempotencyTable()
    copy.load(table.to_blob())
    assert copy.to_blob() == table.to_blob()
    assert copy.get("b") == Rejected("not_found", "printer p9 does not exist", "id")
    for damaged in (table.to_blob()[:-1], table.to_blob() + b"\x93", b"\x93\x01\x02\x03"):
        with pytest.raises(ValueError):
            IdempotencyTable().load(damaged)
