from __future__ import annotations

import pytest

from farm.codec import CommandCodecError, encode_command
from farm.commands import (
    CreateFilament,
    CreateJob,
    CreatePrinter,
    DeletePrinter,
    SetJobStatus,
    UpdateFilament,
    UpdatePrinter,
)
from farm.results import Rejected
from farm.validation import MAX_WEIGHT, check_command, check_id, is_valid_id
from tests.farm.harness import Farm

GOOD = [
    CreatePrinter("p" * 128, "", ""),
    CreatePrinter("printer 1 — ü", "HP", "L12"),
    CreateFilament("f1", "PVC", "Black", MAX_WEIGHT, MAX_WEIGHT),
    CreateFilament("f1", "PVC", "Black", 0, 0),
    CreateJob("j1", "p1", "f1", 0),
    UpdateFilament("f1"),
    SetJobStatus("j1", "Cancelled", used_grams=0),
]


@pytest.mark.parametrize("command", GOOD, ids=repr)
def test_well_formed_commands_pass(command) -> None:
    assert check_command(command) is None


BAD = [
    (CreatePrinter("", "HP", "L12"), "id"),
    (CreatePrinter("p" * 129, "HP", "L12"), "id"),
    (CreatePrinter("tab\there", "HP", "L12"), "id"),
    (CreatePrinter("new\nline", "HP", "L12"), "id"),
    (CreatePrinter(7, "HP", "L12"), "id"),
    (CreatePrinter("a/b", "HP", "L12"), "id"),
    (CreatePrinter("/", "HP", "L12"), "id"),
    (CreateFilament("spools/1", "PVC", "Black", 1, 1), "id"),
    (CreateJob("j/1", "p1", "f1", 1), "job_id"),
    (CreateJob("j1", "p/1", "f1", 1), "printer_id"),
    (CreateJob("j1", "p1", "f1/", 1), "filament_id"),
    (CreatePrinter("p1", None, "L12"), "company"),
    (CreatePrinter("p1", "HP", 12), "model"),
    (
        CreatePrinter("p1", "HP\ud800", "L12"),
        "company",
    ),  # JSON "\ud800" decodes to this; msgpack cannot hold it
    (UpdatePrinter("p1", company=3), "company"),
    (DeletePrinter(None), "id"),
    (CreateFilament("f1", "PVC", "Black", 100.0, 100), "total_weight_in_grams"),
    (CreateFilament("f1", "PVC", "Black", True, 1), "total_weight_in_grams"),
    (CreateFilament("f1", "PVC", "Black", "100", 100), "total_weight_in_grams"),
    (CreateFilament("f1", "PVC", "Black", 100, -1), "remaining_weight_in_grams"),
    (CreateFilament("f1", "PVC", "Black", MAX_WEIGHT + 1, 0), "total_weight_in_grams"),
    (CreateFilament("f1", "PVC", "Black", 100, 101), "remaining_weight_in_grams"),
    (UpdateFilament("f1", remaining_weight_in_grams=-5), "remaining_weight_in_grams"),
    (UpdateFilament("f1", total_weight_in_grams=False), "total_weight_in_grams"),
    (CreateJob("", "p1", "f1", 1), "job_id"),
    (CreateJob("j1", "", "f1", 1), "printer_id"),
    (CreateJob("j1", "p1", "f" * 200, 1), "filament_id"),
    (CreateJob("j1", "p1", "f1", 1.5), "print_weight_in_grams"),
    (CreateJob("j1", "p1", "f1", -1), "print_weight_in_grams"),
    (CreateJob("j1", "p1", "f1", 1, None), "details"),
    (SetJobStatus("j1", None), "status"),
    (SetJobStatus("j1", "done"), "status"),
    (SetJobStatus("j1", "Done", used_grams=MAX_WEIGHT + 1), "used_grams"),
]


@pytest.mark.parametrize(("command", "field"), BAD, ids=repr)
def test_bad_fields_are_invalid_field_naming_the_field(command, field: str) -> None:
    rejected = check_command(command)
    assert isinstance(rejected, Rejected)
    assert (rejected.code, rejected.field) == ("invalid_field", field)
    assert field in rejected.detail
    try:
        encode_command(command)
    except CommandCodecError:
        return  # msgpack cannot carry it, so it never reaches apply(): check_command is where it is refused
    # and apply() refuses it the same way, changing nothing, whatever the proposer skipped
    farm = Farm().seed()
    assert farm.refused(command, "invalid_field", field) == rejected


def test_details_name_the_problem() -> None:
    assert check_command(CreateFilament("f1", "PVC", "Black", 100, 101)).detail == (
        "remaining_weight_in_grams (101 g) cannot exceed total_weight_in_grams (100 g)"
    )
    assert check_command(CreateJob("j1", "p1", "f1", True)).detail == (
        "print_weight_in_grams must be a whole number of grams, got a boolean (true)"
    )
    assert check_command(CreatePrinter("p" * 129, "", "")).detail == (
        "id has 129 characters; at most 128 are allowed"
    )


def test_a_slash_in_an_id_is_refused_saying_why() -> None:
    detail = check_command(CreatePrinter("a/b", "HP", "L12")).detail
    assert detail.startswith("id must not contain '/'") and "/api/v1/printers/{id}" in detail


@pytest.mark.parametrize(
    ("value", "valid"),
    [("p1", True), ("printer 1 — ü", True), ("p" * 128, True), ("a\\b", True), ("a%2Fb", True)]
    + [("a/b", False), ("", False), ("p" * 129, False), ("tab\there", False), (7, False), (None, False)],
)
def test_is_valid_id_is_the_rule_check_id_applies(value, valid: bool) -> None:
    assert is_valid_id(value) is valid
    assert (check_id(value, "id") is None) is valid


def test_check_command_refuses_what_is_not_a_command() -> None:
    assert check_command("CreatePrinter").code == "malformed_command"  # type: ignore[arg-type]
