from __future__ import annotations

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from farm.codec import (
    CommandCodecError,
    Proposal,
    decode_command,
    decode_outcome_obj,
    decode_proposal,
    encode_command,
    encode_proposal,
    outcome_to_obj,
)
from farm.commands import (
    CreateFilament,
    CreateJob,
    CreatePrinter,
    DeleteFilament,
    DeletePrinter,
    SetJobStatus,
    UpdateFilament,
    UpdatePrinter,
)
from farm.records import MAX_AT_MS
from farm.results import Ok, Rejected

EVERY_COMMAND = [
    CreatePrinter("p1", "HP", "L12"),
    UpdatePrinter("p1", model="L13"),
    UpdatePrinter("p1"),
    DeletePrinter("p1"),
    CreateFilament("f1", "PVC", "Black", 100, 90),
    UpdateFilament("f1", remaining_weight_in_grams=80),
    DeleteFilament("f1"),
    CreateJob("j1", "p1", "f1", 50, "mountain"),
    CreateJob("j2", "p1", "f1", 0),
    SetJobStatus("j1", "Running"),
    SetJobStatus("j1", "Failed", used_grams=7),
]


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda c: type(c).__name__)
def test_every_command_round_trips(command) -> None:
    assert decode_command(encode_command(command)) == command


def test_wire_form_is_a_tagged_array_in_field_order() -> None:
    assert msgpack.unpackb(encode_command(CreatePrinter("p1", "HP", "L12"))) == [1, "p1", "HP", "L12"]
    assert msgpack.unpackb(encode_command(SetJobStatus("j1", "Failed", 3))) == [8, "j1", "Failed", 3]


def test_wrong_value_types_pass_the_codec_for_the_state_machine_to_name() -> None:
    command = CreateFilament("f1", "PVC", "Black", 1.5, True)  # type: ignore[arg-type]
    assert decode_command(encode_command(command)) == command


GARBAGE = [
    b"",
    b"\xc1",  # never used in msgpack
    b"\x93\x01",  # truncated array
    msgpack.packb([1, "p1", "HP", "L12"]) + b"\x00",  # trailing bytes
    msgpack.packb({"tag": 1}),
    msgpack.packb([]),
    msgpack.packb("CreatePrinter"),
    msgpack.packb([99, "p1"]),
    msgpack.packb([0, "p1"]),
    msgpack.packb([True, "p1", "HP", "L12"]),  # True == 1, but a boolean is not a tag
    msgpack.packb([1.0, "p1", "HP", "L12"]),
    msgpack.packb([1, "p1", "HP"]),
    msgpack.packb([1, "p1", "HP", "L12", "octoprint", "http://o", "k", "one too many"]),
    msgpack.packb([1, "p1", ["HP"], "L12"]),
    msgpack.packb([1, "p1", {"a": 1}, "L12"]),
    msgpack.packb([1, "p1", b"HP", "L12"], use_bin_type=True),
]


@pytest.mark.parametrize("data", GARBAGE)
def test_garbage_is_refused_with_command_codec_error(data: bytes) -> None:
    with pytest.raises(CommandCodecError):
        decode_command(data)


@given(st.binary(max_size=64))
def test_random_bytes_decode_to_a_command_or_raise_command_codec_error(data: bytes) -> None:
    try:
        command = decode_command(data)
    except CommandCodecError:
        return
    assert decode_command(encode_command(command)) == command


def test_non_bytes_and_non_commands_are_refused() -> None:
    with pytest.raises(CommandCodecError):
        decode_command("not bytes")  # type: ignore[arg-type]
    with pytest.raises(CommandCodecError):
        encode_command(Ok(None))  # type: ignore[arg-type]
    with pytest.raises(CommandCodecError):
        encode_command(CreatePrinter("p1", ["HP"], "L12"))  # type: ignore[arg-type]
    with pytest.raises(CommandCodecError):
        encode_command(CreateFilament("f1", "PVC", "Black", 2**70, 0))


def test_proposal_round_trips_with_and_without_key() -> None:
    command = CreateJob("j1", "p1", "f1", 50)
    for key in (None, "retry-7"):
        data = encode_proposal(encode_command(command), 1_700_000_000_123, key)
        assert decode_proposal(data) == Proposal(command, 1_700_000_000_123, key, encode_command(command))


@pytest.mark.parametrize(
    ("at_ms", "key"),
    [(-1, None), (MAX_AT_MS + 1, None), (1.5, None), (True, None), (0, ""), (0, "k" * 256), (0, 7)],
)
def test_proposal_refuses_bad_time_or_key(at_ms, key) -> None:
    with pytest.raises(CommandCodecError):
        encode_proposal(encode_command(DeletePrinter("p1")), at_ms, key)
    forged = msgpack.packb([1, at_ms, key, encode_command(DeletePrinter("p1"))], use_bin_type=True)
    with pytest.raises(CommandCodecError):
        decode_proposal(forged)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        msgpack.packb([2, 0, None, encode_command(DeletePrinter("p1"))], use_bin_type=True),  # version 2
        msgpack.packb([1, 0, None, [3, "p1"]]),  # command not wrapped as bytes
        msgpack.packb([1, 0, None, b"\xc1"], use_bin_type=True),
        msgpack.packb([1, 0, None], use_bin_type=True),
        encode_command(DeletePrinter("p1")),  # a bare command is not a proposal
    ],
)
def test_malformed_proposals_are_refused(data: bytes) -> None:
    with pytest.raises(CommandCodecError):
        decode_proposal(data)


def test_encode_proposal_wants_encoded_command_bytes() -> None:
    with pytest.raises(CommandCodecError):
        encode_proposal(DeletePrinter("p1"), 0, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "outcome",
    [Ok(None), Ok({"id": "p1", "n": 3, "x": None}), Rejected("not_found", "printer p1 does not exist", "id")],
)
def test_outcomes_round_trip(outcome) -> None:
    packed = msgpack.packb(outcome_to_obj(outcome), use_bin_type=True)
    assert decode_outcome_obj(msgpack.unpackb(packed, raw=False)) == outcome


def test_malformed_outcome_is_refused() -> None:
    for obj in ([2, None], [1, "x"], "x"):
        with pytest.raises(CommandCodecError):
            decode_outcome_obj(obj)
