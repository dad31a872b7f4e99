from __future__ import annotations

import hashlib
import io

import msgpack
import pytest

from farm.codec import encode_command
from farm.commands import CreateFilament, CreateJob, CreatePrinter, DeletePrinter, SetJobStatus, UpdatePrinter
from farm.idempotency import (
    CAPACITY,
    INTERNAL_CAPACITY,
    INTERNAL_KEY_PREFIX,
    WINDOW,
    IdempotencyTable,
    fingerprint,
)
from farm.results import Ok, Rejected
from farm.state import FarmState
from tests.farm.harness import Farm

FP = fingerprint(b"command")


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
        table.remember(f"k{index}", index, FP, Ok(index))
    assert len(table) == 3 and table.recall("k1", FP) is None and table.recall("k2", FP) == Ok(2)
    table.expire(13)  # k2 (index 2) is 11 old, k3 is 10 old: only k2 goes
    assert table.recall("k2", FP) is None and table.recall("k3", FP) == Ok(3) and len(table) == 2
    table.expire(10**9)
    assert len(table) == 0


def test_table_records_round_trip_and_refuse_damage() -> None:
    table = IdempotencyTable()
    table.remember("a", 1, FP, Ok({"id": "p1"}))
    table.remember("b", 2, FP, Rejected("not_found", "printer p9 does not exist", "id"))
    copy = IdempotencyTable()
    copy.load(table.to_blob())
    assert copy.to_blob() == table.to_blob()
    assert copy.recall("b", FP) == Rejected("not_found", "printer p9 does not exist", "id")
    assert copy.recall("b", fingerprint(b"other")).code == "idempotency_key_reused"
    for damaged in (table.to_blob()[:-1], table.to_blob() + b"\x93", b"\x93\x01\x02\x03"):
        with pytest.raises(ValueError):
            IdempotencyTable().load(damaged)


@pytest.mark.parametrize(
    "record",
    [
        ["k", 1, [0, None]],  # a record without its fingerprint (the format before fingerprints)
        ["k", 1, b"short", [0, None]],
        ["k", 1, "not bytes", [0, None]],
        ["k", "1", FP, [0, None]],
        [7, 1, FP, [0, None]],
        ["k", 1, FP, [2, None]],
    ],
)
def test_table_refuses_malformed_records(record) -> None:
    blob = msgpack.packb(record, use_bin_type=True)
    with pytest.raises(ValueError):
        IdempotencyTable().load(blob)


# --- a key reused for another request -------------------------------------------------------------------


def test_the_fingerprint_is_64_bits_of_blake2b_of_the_command_bytes() -> None:
    data = encode_command(CreatePrinter("p1", "HP", "L12"))
    assert fingerprint(data) == hashlib.blake2b(data, digest_size=8).digest()
    assert fingerprint(data) != fingerprint(encode_command(CreatePrinter("p2", "HP", "L12")))


@pytest.mark.parametrize(
    "other",
    [
        CreateFilament("p1", "PLA", "Red", 10, 10),  # another endpoint (POST /filaments after POST /printers)
        CreatePrinter("p2", "HP", "L12"),  # the same endpoint, another body
        CreatePrinter("p1", "HP", "L13"),
        UpdatePrinter("p1", model="L12"),
    ],
    ids=repr,
)
def test_a_key_reused_for_another_command_is_refused_and_changes_nothing(other) -> None:
    farm = Farm()
    first = farm.propose(CreatePrinter("p1", "HP", "L12"), key="k1").outcome
    before = farm.state.snapshot()
    reused = farm.propose(other, key="k1")
    assert reused.outcome == Rejected(
        "idempotency_key_reused",
        "idempotency key 'k1' was first used for another request; send a new request with a new key",
        None,
    )
    assert reused.events == ()
    assert farm.state.snapshot() == before  # neither applied nor recorded
    # the key still answers its first request, and still refuses the other one
    assert farm.propose(CreatePrinter("p1", "HP", "L12"), key="k1").outcome == first
    assert farm.propose(other, key="k1").outcome.code == "idempotency_key_reused"


def test_a_retry_proposed_later_by_another_leader_is_the_same_request() -> None:
    """Only the command counts: the leader's clock stamp differs between a write and its retry."""
    farm = Farm()
    first = farm.propose(CreatePrinter("p1", "HP", "L12"), key="k1", at_ms=1_700_000_000_000).outcome
    again = farm.propose(CreatePrinter("p1", "HP", "L12"), key="k1", at_ms=1_700_000_999_000).outcome
    assert again == first and isinstance(first, Ok)


def test_a_refused_first_request_also_holds_its_key() -> None:
    farm = Farm()
    first = farm.propose(CreatePrinter("", "HP", "L12"), key="k1").outcome
    assert first.code == "invalid_field"
    assert farm.propose(CreatePrinter("p1", "HP", "L12"), key="k1").outcome.code == "idempotency_key_reused"
    assert farm.propose(CreatePrinter("", "HP", "L12"), key="k1").outcome == first


def test_fingerprints_survive_snapshot_and_restore() -> None:
    farm = Farm()
    farm.ok(CreatePrinter("p1", "HP", "L12"), key="k1")
    restored = Farm(FarmState.restore(farm.state.snapshot()))
    restored.index = farm.index
    assert restored.propose(CreatePrinter("p2", "HP", "L12"), key="k1").outcome.code == (
        "idempotency_key_reused"
    )


# --- internal keys ("~...", the node's own) in their own, smaller table ----------------------------------


def internal(n: int) -> str:
    return f"~{n:022d}"


def test_internal_keys_are_recalled_like_client_keys() -> None:
    farm = Farm()
    first = farm.propose(CreatePrinter("p1", "HP", "L12"), key=internal(1)).outcome
    assert farm.propose(CreatePrinter("p1", "HP", "L12"), key=internal(1)).outcome == first
    assert farm.propose(CreatePrinter("p2", "HP", "L12"), key=internal(1)).outcome.code == (
        "idempotency_key_reused"
    )


def test_internal_keys_have_their_own_capacity_and_never_push_out_client_keys() -> None:
    farm = Farm(FarmState(idempotency_capacity=3, idempotency_internal_capacity=2))
    client_first = farm.propose(CreatePrinter("c", "HP", "L12"), key="client").outcome
    for n in range(5):
        farm.ok(CreatePrinter(f"i{n}", "HP", "L12"), key=internal(n))
    # the client key outlived five internal keys; of those only the last two are held, oldest went first
    assert farm.propose(CreatePrinter("c", "HP", "L12"), key="client").outcome == client_first
    assert farm.propose(CreatePrinter("i2", "HP", "L12"), key=internal(2)).outcome.code == "already_exists"
    assert isinstance(farm.propose(CreatePrinter("i4", "HP", "L12"), key=internal(4)).outcome, Ok)


def test_client_keys_never_push_out_internal_keys() -> None:
    farm = Farm(FarmState(idempotency_capacity=2, idempotency_internal_capacity=3))
    internal_first = farm.propose(CreatePrinter("i", "HP", "L12"), key=internal(0)).outcome
    for n in range(5):
        farm.ok(CreatePrinter(f"c{n}", "HP", "L12"), key=f"client-{n}")
    assert farm.propose(CreatePrinter("i", "HP", "L12"), key=internal(0)).outcome == internal_first
    assert farm.propose(CreatePrinter("c0", "HP", "L12"), key="client-0").outcome.code == "already_exists"


def test_the_default_bounds() -> None:
    state = FarmState()
    assert (INTERNAL_KEY_PREFIX, INTERNAL_CAPACITY, CAPACITY, WINDOW) == ("~", 4096, 100_000, 100_000)
    farm = Farm(state)
    for n in range(INTERNAL_CAPACITY + 10):
        farm.propose(DeletePrinter("p"), key=internal(n))
    farm.propose(DeletePrinter("p"), key="client")
    tables = msgpack.unpackb(state.snapshot())[4:6]
    assert [len(list(msgpack.Unpacker(io.BytesIO(blob)))) for blob in tables] == [1, INTERNAL_CAPACITY]


def test_both_tables_survive_snapshot_and_restore() -> None:
    farm = Farm()
    client_first = farm.propose(CreatePrinter("c", "HP", "L12"), key="client").outcome
    internal_first = farm.propose(CreatePrinter("i", "HP", "L12"), key=internal(0)).outcome
    restored = Farm(FarmState.restore(farm.state.snapshot()))
    restored.index = farm.index
    assert restored.state.snapshot() == farm.state.snapshot()
    assert restored.propose(CreatePrinter("c", "HP", "L12"), key="client").outcome == client_first
    assert restored.propose(CreatePrinter("i", "HP", "L12"), key=internal(0)).outcome == internal_first


def records(*keys_and_indexes: tuple[str, int]) -> bytes:
    return b"".join(
        msgpack.packb([key, index, FP, [0, None]], use_bin_type=True) for key, index in keys_and_indexes
    )


def test_each_table_loads_its_own_keys() -> None:
    client, internal_keys = IdempotencyTable(), IdempotencyTable(internal=True)
    client.load(records(("a", 1), ("b", 3)))
    internal_keys.load(records(("~a", 2), ("~b", 4)))
    assert client.recall("b", FP) == internal_keys.recall("~b", FP) == Ok(None)


@pytest.mark.parametrize(
    ("table", "blob"),
    [
        (IdempotencyTable(), records(("~a", 1))),  # an internal key among the client keys
        (IdempotencyTable(internal=True), records(("a", 1))),  # and the other way round
        (IdempotencyTable(), records(("a", 1), ("a", 2))),  # a key twice
        (IdempotencyTable(), records(("a", 2), ("b", 2))),  # one log index, two keys
        (IdempotencyTable(), records(("a", 2), ("b", 1))),  # not oldest first
        (IdempotencyTable(capacity=1), records(("a", 1), ("b", 2))),  # more than the table holds
    ],
)
def test_a_table_refuses_records_it_could_never_have_held(table: IdempotencyTable, blob: bytes) -> None:
    with pytest.raises(ValueError):
        table.load(blob)
