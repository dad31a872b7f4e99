"""msgpack encoding of the raft vocabulary: the one place these values become bytes and back.

Each value is a msgpack array of its fields in declaration order. Decoders validate shape and types
and raise CodecError (never a TypeError or IndexError from deeper in) on anything malformed.
"""

from __future__ import annotations

from typing import Any

import msgpack

from raft.types import (
    ConfChange,
    ConfChangeKind,
    Entry,
    EntryKind,
    HardState,
    Member,
    Membership,
    Snapshot,
)


class CodecError(ValueError):
    """Bytes that do not decode into the value asked for."""


def packb(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def unpackb(data: bytes) -> Any:
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated types on bad input
        raise CodecError(f"not valid msgpack: {exc}") from exc


def _fields(obj: Any, count: int, what: str) -> list[Any]:
    if not isinstance(obj, list) or len(obj) != count:
        raise CodecError(f"{what}: expected an array of {count} fields, got {type(obj).__name__}")
    return obj


def _int(value: Any, what: str) -> int:
    if type(value) is not int or value < 0:
        raise CodecError(f"{what}: expected a non-negative integer, got {value!r}")
    return value


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise CodecError(f"{what}: expected a string, got {type(value).__name__}")
    return value


def _bytes(value: Any, what: str) -> bytes:
    if not isinstance(value, bytes):
        raise CodecError(f"{what}: expected bytes, got {type(value).__name__}")
    return value


# --- Entry -------------------------------------------------------------------------------------------


def entry_to_obj(entry: Entry) -> list[Any]:
    return [entry.term, entry.index, int(entry.kind), entry.data]


def entry_from_obj(obj: Any) -> Entry:
    term, index, kind, data = _fields(obj, 4, "entry")
    try:
        entry_kind = EntryKind(kind)
    except ValueError as exc:
        raise CodecError(f"entry: unknown kind {kind!r}") from exc
    return Entry(_int(term, "entry.term"), _int(index, "entry.index"), entry_kind, _bytes(data, "entry.data"))


def encode_entry(entry: Entry) -> bytes:
    return packb(entry_to_obj(entry))


def decode_entry(data: bytes) -> Entry:
    return entry_from_obj(unpackb(data))


# --- HardState ---------------------------------------------------------------------------------------


def hard_state_to_obj(state: HardState) -> list[Any]:
    return [state.term, state.vote, state.commit]


def hard_state_from_obj(obj: Any) -> HardState:
    term, vote, commit = _fields(obj, 3, "hard state")
    if vote is not None:
        _str(vote, "hard_state.vote")
    return HardState(_int(term, "hard_state.term"), vote, _int(commit, "hard_state.commit"))


def encode_hard_state(state: HardState) -> bytes:
    return packb(hard_state_to_obj(state))


def decode_hard_state(data: bytes) -> HardState:
    return hard_state_from_obj(unpackb(data))


# --- Membership and configuration changes -----------------------------------------------------------


def membership_to_obj(membership: Membership) -> list[Any]:
    return [[m.node_id, m.addr, m.voter] for m in membership.members]


def membership_from_obj(obj: Any) -> Membership:
    if not isinstance(obj, list):
        raise CodecError("membership: expected an array of members")
    members = []
    for item in obj:
        node_id, addr, voter = _fields(item, 3, "member")
        if not isinstance(voter, bool):
            raise CodecError("member.voter: expected a boolean")
        members.append(Member(_str(node_id, "member.node_id"), _str(addr, "member.addr"), voter))
    return Membership(tuple(members))


def encode_conf_change(change: ConfChange) -> bytes:
    return packb([int(change.kind), change.node_id, change.addr])


def decode_conf_change(data: bytes) -> ConfChange:
    kind, node_id, addr = _fields(unpackb(data), 3, "conf change")
    try:
        change_kind = ConfChangeKind(kind)
    except ValueError as exc:
        raise CodecError(f"conf change: unknown kind {kind!r}") from exc
    return ConfChange(change_kind, _str(node_id, "conf_change.node_id"), _str(addr, "conf_change.addr"))


# --- Snapshot ----------------------------------------------------------------------------------------


def snapshot_to_obj(snapshot: Snapshot) -> list[Any]:
    return [snapshot.index, snapshot.term, membership_to_obj(snapshot.membership), snapshot.data]


def snapshot_from_obj(obj: Any) -> Snapshot:
    index, term, membership, data = _fields(obj, 4, "snapshot")
    return Snapshot(
        _int(index, "snapshot.index"),
        _int(term, "snapshot.term"),
        membership_from_obj(membership),
        _bytes(data, "snapshot.data"),
    )


def encode_snapshot(snapshot: Snapshot) -> bytes:
    return packb(snapshot_to_obj(snapshot))


def decode_snapshot(data: bytes) -> Snapshot:
    return snapshot_from_obj(unpackb(data))
