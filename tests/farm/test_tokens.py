"""API tokens in the replicated state: bootstrap, create, revoke, the last admin, snapshots, roles."""

from __future__ import annotations

import msgpack
import pytest

from farm.codec import decode_command, encode_command
from farm.commands import BootstrapAcl, CreatePrinter, CreateToken, DeletePrinter, RevokeToken, SetJobStatus
from farm.roles import allows, command_role, encoded_command_role
from farm.snapshot import SnapshotError
from farm.state import FarmState
from farm.tokens import hash_secret
from tests.farm.harness import Farm

SECRET = "pf_" + "a" * 43
OTHER = "pf_" + "b" * 43


def bootstrapped() -> Farm:
    farm = Farm()
    farm.ok(BootstrapAcl("t1", "root", hash_secret(SECRET)))
    return farm


def test_a_new_farm_is_open_and_knows_no_token() -> None:
    table = FarmState().tokens()
    assert table.open and table.role_of(SECRET) is None


def test_bootstrap_closes_the_farm_with_one_admin_token() -> None:
    farm = Farm()
    value = farm.ok(BootstrapAcl("t1", "root", hash_secret(SECRET)))
    assert value == {"id": "t1", "name": "root", "role": "admin", "created_at": "2023-11-14T22:13:21.000Z"}
    table = farm.state.tokens()
    assert not table.open
    assert table.role_of(SECRET) == "admin" and table.role_of(OTHER) is None


def test_bootstrap_happens_once() -> None:
    farm = bootstrapped()
    farm.refused(BootstrapAcl("t2", "again", hash_secret(OTHER)), "already_bootstrapped")
    assert farm.state.tokens().role_of(OTHER) is None


def test_tokens_need_a_bootstrapped_farm() -> None:
    Farm().refused(CreateToken("t2", "ci", "operator", hash_secret(OTHER)), "not_bootstrapped")


def test_create_and_revoke() -> None:
    farm = bootstrapped()
    value = farm.ok(CreateToken("t2", "ci", "operator", hash_secret(OTHER)))
    assert value["role"] == "operator" and "token" not in value and "token_hash" not in value
    assert farm.state.tokens().role_of(OTHER) == "operator"
    assert [t["id"] for t in farm.state.tokens().listing()] == ["t1", "t2"]
    farm.ok(RevokeToken("t2"))
    assert farm.state.tokens().role_of(OTHER) is None
    farm.refused(RevokeToken("t2"), "not_found")


def test_the_last_admin_token_cannot_go_but_one_of_two_can() -> None:
    farm = bootstrapped()
    farm.refused(RevokeToken("t1"), "last_admin")
    farm.ok(CreateToken("t2", "second admin", "admin", hash_secret(OTHER)))
    farm.ok(RevokeToken("t1"))
    farm.refused(RevokeToken("t2"), "last_admin")
    assert farm.state.tokens().role_of(OTHER) == "admin"


def test_ids_and_secrets_are_unique() -> None:
    farm = bootstrapped()
    farm.refused(CreateToken("t1", "dup", "viewer", hash_secret(OTHER)), "already_exists", "token_id")
    farm.refused(CreateToken("t9", "dup", "viewer", hash_secret(SECRET)), "already_exists", "token")


@pytest.mark.parametrize(
    "command,field",
    [
        (CreateToken("t2", "x", "root", hash_secret(OTHER)), "role"),
        (CreateToken("t2", "x", "Admin", hash_secret(OTHER)), "role"),
        (CreateToken("t2", "", "viewer", hash_secret(OTHER)), "name"),
        (CreateToken("t2", "x", "viewer", OTHER), "token_hash"),
        (CreateToken("t2", "x", "viewer", hash_secret(OTHER).upper()), "token_hash"),
        (CreateToken("", "x", "viewer", hash_secret(OTHER)), "token_id"),
    ],
)
def test_malformed_token_commands_are_refused(command, field) -> None:
    bootstrapped().refused(command, "invalid_field", field)


def test_tokens_survive_snapshot_and_restore_and_the_snapshot_holds_no_secret() -> None:
    farm = bootstrapped()
    farm.ok(CreateToken("t2", "ci", "viewer", hash_secret(OTHER)))
    farm.ok(RevokeToken("t2"))
    farm.ok(CreateToken("t3", "ops", "operator", hash_secret("pf_" + "c" * 43)))
    data = farm.state.snapshot()
    assert SECRET.encode() not in data and OTHER.encode() not in data
    restored = FarmState.restore(data)
    assert restored.snapshot() == data
    table = restored.tokens()
    assert not table.open and table.admins == 1
    assert table.role_of(SECRET) == "admin" and table.role_of(OTHER) is None
    assert table.role_of("pf_" + "c" * 43) == "operator"
    Farm(restored).refused(RevokeToken("t1"), "last_admin")


def test_a_snapshot_without_its_tokens_is_refused_not_restored_as_an_open_farm() -> None:
    # an open farm read from a bootstrapped cluster's truncated snapshot would let anyone in
    farm = Farm()
    farm.ok(CreatePrinter("p1", "HP", "L12"))
    farm.ok(BootstrapAcl("t", "n", hash_secret(SECRET)))
    cut = msgpack.packb(msgpack.unpackb(farm.state.snapshot())[:-1])
    with pytest.raises(SnapshotError):
        FarmState.restore(cut)


def test_roles_and_what_commands_need() -> None:
    assert allows(None, None) and allows("viewer", None)
    assert not allows(None, "viewer") and not allows("viewer", "operator") and allows("admin", "operator")
    assert not allows("operator", "admin") and not allows("bogus", "viewer")
    for command in (
        BootstrapAcl("t", "n", hash_secret(SECRET)),
        CreateToken("t", "n", "viewer", hash_secret(SECRET)),
        RevokeToken("t"),
        CreatePrinter("p", "a", "b"),
        DeletePrinter("p"),
        SetJobStatus("j", "Done"),
    ):
        encoded = encode_command(command)
        assert decode_command(encoded) == command
        assert encoded_command_role(encoded) == command_role(type(command))
    assert command_role(BootstrapAcl) is None and command_role(RevokeToken) == "admin"
    assert command_role(CreatePrinter) == "operator"
    assert encoded_command_role(b"") == "admin" and encoded_command_role(b"\xc0\x01") == "admin"


def test_every_command_tag_has_a_deliberate_role() -> None:
    """A leader re-authorizes a forwarded command by its tag alone: every tag the codec knows must need the
    same role as its class, and what only a node's own printer connections report (their state, a dispatch,
    a job's end seen on OctoPrint) needs the node itself: no token, not even an admin's, may send it."""
    from farm.codec import _TAGS
    from farm.commands import DispatchJob, EndJobFromPrinter, ReportPrinterState
    from farm.roles import NODE

    node_only = {ReportPrinterState, DispatchJob, EndJobFromPrinter}
    for cls, tag in _TAGS.items():
        expected = command_role(cls)
        assert encoded_command_role(bytes([0x91, tag])) == expected, cls.__name__
        assert (expected == NODE) == (cls in node_only), cls.__name__
    assert not allows("admin", NODE) and allows(NODE, NODE) and allows(NODE, "admin")
