"""msgpack encoding of the raft vocabulary: the one place these values become bytes and back.

Each value is a msgpack array of its fields in declaration order. Decoders validate shape and types
and raise CodecError (never a TypeError or IndexError from deeper in) on anything malformed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgpack

from raft import messages as _m
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


def unpackb(data: bytes, limits: Mapping[str, int] | None = None) -> Any:
    """`limits` are msgpack's own (max_array_len, max_bin_len, ...): bytes from outside (peers) pass them so
    that a small input cannot ask for millions of objects."""
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=True, **(limits or {}))
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
    return [[m.node_id, m.addr, m.voter, m.incarnation] for m in membership.members]


def membership_from_obj(obj: Any) -> Membership:
    if not isinstance(obj, list):
        raise CodecError("membership: expected an array of members")
    members = []
    for item in obj:
        if isinstance(item, list) and len(item) == 3:  # written before incarnations were recorded
            item = [*item, ""]
        node_id, addr, voter, incarnation = _fields(item, 4, "member")
        if not isinstance(voter, bool):
            raise CodecError("member.voter: expected a boolean")
        members.append(
            Member(
                _str(node_id, "member.node_id"),
                _str(addr, "member.addr"),
                voter,
                _str(incarnation, "member.incarnation"),
            )
        )
    return Membership(tuple(members))


def encode_conf_change(change: ConfChange) -> bytes:
    return packb([int(change.kind), change.node_id, change.addr, change.incarnation])


def decode_conf_change(data: bytes) -> ConfChange:
    obj = unpackb(data)
    if isinstance(obj, list) and len(obj) == 3:  # written before incarnations were recorded
        obj = [*obj, ""]
    kind, node_id, addr, incarnation = _fields(obj, 4, "conf change")
    try:
        change_kind = ConfChangeKind(kind)
    except ValueError as exc:
        raise CodecError(f"conf change: unknown kind {kind!r}") from exc
    return ConfChange(
        change_kind,
        _str(node_id, "conf_change.node_id"),
        _str(addr, "conf_change.addr"),
        _str(incarnation, "conf_change.incarnation"),
    )


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


# --- Protocol messages (raft/messages.py) ------------------------------------------------------------
#
# A message is the array [TAG, *fields]; entries and memberships nest as above. Decoding checks every
# field's type and an AppendEntries' shape (contiguous entries after prev_index, no term above the
# message's), so the core only ever sees well-formed messages.

_S, _I, _B, _Y, _E, _M = "str", "int", "bool", "bytes", "entries", "membership"

_MESSAGE_FIELDS: dict[type, tuple[tuple[str, str], ...]] = {
    _m.RequestVote: (
        ("sender", _S), ("recipient", _S), ("term", _I),
        ("last_index", _I), ("last_term", _I), ("pre_vote", _B), ("transfer", _B), ("incarnation", _S),
    ),
    _m.RequestVoteResponse: (
        ("sender", _S), ("recipient", _S), ("term", _I), ("granted", _B), ("pre_vote", _B),
        ("incarnation", _S),
    ),
    _m.AppendEntries: (
        ("sender", _S), ("recipient", _S), ("term", _I),
        ("prev_index", _I), ("prev_term", _I), ("entries", _E), ("commit", _I),
    ),
    _m.AppendEntriesResponse: (
        ("sender", _S), ("recipient", _S), ("term", _I),
        ("index", _I), ("reject", _B), ("hint_index", _I), ("hint_term", _I), ("incarnation", _S),
    ),
    _m.Heartbeat: (("sender", _S), ("recipient", _S), ("term", _I), ("commit", _I), ("read_round", _I)),
    _m.HeartbeatResponse: (
        ("sender", _S), ("recipient", _S), ("term", _I), ("read_round", _I), ("incarnation", _S),
    ),
    _m.InstallSnapshot: (
        ("sender", _S), ("recipient", _S), ("term", _I), ("index", _I), ("snapshot_term", _I),
        ("membership", _M), ("offset", _I), ("data", _Y), ("done", _B),
    ),
    _m.InstallSnapshotResponse: (
        ("sender", _S), ("recipient", _S), ("term", _I), ("index", _I), ("offset", _I), ("done", _B),
        ("incarnation", _S),
    ),
    _m.TimeoutNow: (("sender", _S), ("recipient", _S), ("term", _I)),
    _m.ReadIndexRequest: (("sender", _S), ("recipient", _S), ("term", _I), ("ctx", _Y)),
    _m.ReadIndexResponse: (("sender", _S), ("recipient", _S), ("term", _I), ("index", _I), ("ctx", _Y)),
}  # fmt: skip

_MESSAGE_BY_TAG: dict[int, type] = {cls.TAG: cls for cls in _MESSAGE_FIELDS}
assert len(_MESSAGE_BY_TAG) == len(_MESSAGE_FIELDS), "message tags must be unique"


def _bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise CodecError(f"{what}: expected a boolean, got {type(value).__name__}")
    return value


def _entries_from_obj(value: Any, what: str) -> tuple[Entry, ...]:
    if not isinstance(value, list):
        raise CodecError(f"{what}: expected an array of entries")
    return tuple(entry_from_obj(item) for item in value)


_FIELD_DECODERS = {
    _S: _str,
    _I: _int,
    _B: _bool,
    _Y: _bytes,
    _E: _entries_from_obj,
    _M: lambda value, what: membership_from_obj(value),
}

_FIELD_ENCODERS = {
    _E: lambda entries: [[e.term, e.index, int(e.kind), e.data] for e in entries],
    _M: membership_to_obj,
}


def encode_message(message: _m.Message) -> bytes:
    fields = _MESSAGE_FIELDS.get(type(message))
    if fields is None:
        raise CodecError(f"not a protocol message: {type(message).__name__}")
    obj: list[Any] = [message.TAG]
    for name, kind in fields:
        value = getattr(message, name)
        encoder = _FIELD_ENCODERS.get(kind)
        obj.append(encoder(value) if encoder is not None else value)
    return packb(obj)


def decode_message(data: bytes, limits: Mapping[str, int] | None = None) -> _m.Message:
    """The message encoded in `data`; CodecError (and nothing else) if it is not a well-formed one.
    `limits`: msgpack unpacker limits (see unpackb), for bytes that come from peers."""
    try:
        return _decode_message(data, limits)
    except CodecError:
        raise
    except Exception as exc:  # a last guard: the boundary promises one exception type
        raise CodecError(f"malformed message: {exc!r}") from exc


def _decode_message(data: bytes, limits: Mapping[str, int] | None = None) -> _m.Message:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CodecError(f"expected bytes, got {type(data).__name__}")
    obj = unpackb(bytes(data), limits)
    if not isinstance(obj, list) or not obj:
        raise CodecError("message: expected a non-empty array")
    tag = obj[0]
    cls = _MESSAGE_BY_TAG.get(tag) if type(tag) is int else None
    if cls is None:
        raise CodecError(f"message: unknown tag {tag!r}")
    fields = _MESSAGE_FIELDS[cls]
    values = obj[1:]
    if len(values) != len(fields):
        raise CodecError(f"{cls.__name__}: expected {len(fields)} fields, got {len(values)}")
    decoded = [
        _FIELD_DECODERS[kind](value, f"{cls.__name__}.{name}")
        for (name, kind), value in zip(fields, values, strict=True)
    ]
    message = cls(*decoded)
    if isinstance(message, _m.AppendEntries):
        _check_append_entries(message)
    return message


def _check_append_entries(message: _m.AppendEntries) -> None:
    previous_term = message.prev_term
    for offset, entry in enumerate(message.entries, start=1):
        if entry.index != message.prev_index + offset:
            raise CodecError("AppendEntries: entries are not contiguous after prev_index")
        if entry.term < previous_term or entry.term > message.term:
            raise CodecError("AppendEntries: entry terms must not decrease nor exceed the message term")
        previous_term = entry.term
