"""Peer frames: the one place node-to-node traffic becomes bytes and back.

A frame is a msgpack array `[PROTOCOL_VERSION, cluster_id, reply_addr, KIND, *fields]`. `reply_addr` is the
sender's raft address, so a node that knows nothing yet (a fresh node being joined) can answer the leader.
Raft messages travel as raft.codec bytes inside a RaftFrame; the forwarded client calls (a follower hands a
write or a membership change to the leader) and their replies are frames of their own.
Anything that does not decode raises FrameError; the transport drops and counts it. Peer bytes are checked
against actors.frame_limits (size first, then msgpack's unpacker limits) before anything is built from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actors.frame_limits import MAX_FRAME_BYTES, PEER_UNPACK_LIMITS
from farm.results import Ok, Outcome, Page, Rejected
from farm.roles import NODE, RANK
from raft import codec as raft_codec
from raft.codec import CodecError, packb, unpackb

PROTOCOL_VERSION = 1


class FrameError(ValueError):
    """Bytes from a peer that are not a frame we understand."""


class FrameTooLarge(FrameError):
    """A frame larger than any a node sends (actors.frame_limits); refused before decoding."""


@dataclass(frozen=True, slots=True)
class RaftFrame:
    message: Any  # a raft.messages message; routed by its `recipient`


# `role` of a forwarded request: the caller's role as the follower authenticated it (farm/roles.py; None on
# an open cluster), for the leader to authorize the request the same way (httpapi/access.py).


@dataclass(frozen=True, slots=True)
class ForwardWrite:
    request_id: int
    command: bytes  # farm.codec.encode_command(...)
    idempotency_key: str
    role: str | None = NODE


@dataclass(frozen=True, slots=True)
class ForwardJoin:
    request_id: int
    node_id: str
    addr: str
    role: str | None = NODE


@dataclass(frozen=True, slots=True)
class ForwardRemove:
    request_id: int
    node_id: str
    role: str | None = NODE


@dataclass(frozen=True, slots=True)
class ForwardTransfer:
    request_id: int
    to: str
    role: str | None = NODE


@dataclass(frozen=True, slots=True)
class ForwardReply:
    request_id: int
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class ForwardFailed:
    """The leader could not answer: `reason` is one of FAIL_REASONS; the asker retries or gives up."""

    request_id: int
    reason: str
    leader_id: str | None = None


FAIL_REASONS = frozenset({"not_leader", "timeout", "stopping", "busy", "leadership_lost"})

ForwardRequest = ForwardWrite | ForwardJoin | ForwardRemove | ForwardTransfer
Frame = RaftFrame | ForwardRequest | ForwardReply | ForwardFailed


@dataclass(frozen=True, slots=True)
class Received:
    cluster_id: str
    reply_addr: str
    frame: Frame


RAFT, WRITE, JOIN, REMOVE, TRANSFER, REPLY, FAILED = 1, 2, 3, 4, 5, 6, 7


def encode_frame(frame: Frame, cluster_id: str, reply_addr: str) -> bytes:
    head: list[Any] = [PROTOCOL_VERSION, cluster_id, reply_addr]
    match frame:
        case RaftFrame(message):
            return packb([*head, RAFT, raft_codec.encode_message(message)])
        case ForwardWrite(request_id, command, key, role):
            return packb([*head, WRITE, request_id, command, key, role])
        case ForwardJoin(request_id, node_id, addr, role):
            return packb([*head, JOIN, request_id, node_id, addr, role])
        case ForwardRemove(request_id, node_id, role):
            return packb([*head, REMOVE, request_id, node_id, role])
        case ForwardTransfer(request_id, to, role):
            return packb([*head, TRANSFER, request_id, to, role])
        case ForwardReply(request_id, outcome):
            return packb([*head, REPLY, request_id, outcome_to_obj(outcome)])
        case ForwardFailed(request_id, reason, leader_id):
            return packb([*head, FAILED, request_id, reason, leader_id])
    raise TypeError(f"not a frame: {frame!r}")


def decode_frame(data: bytes, max_bytes: int = MAX_FRAME_BYTES) -> Received:
    if len(data) > max_bytes:
        raise FrameTooLarge(f"frame of {len(data)} bytes; the largest a node sends is {max_bytes}")
    try:
        obj = unpackb(data, PEER_UNPACK_LIMITS)
    except CodecError as exc:
        raise FrameError(str(exc)) from exc
    if not isinstance(obj, list) or len(obj) < 4:
        raise FrameError("frame: expected an array [version, cluster_id, reply_addr, kind, ...]")
    version, cluster_id, reply_addr, kind, *fields = obj
    if version != PROTOCOL_VERSION:
        raise FrameError(f"frame: protocol version {version!r}, we speak {PROTOCOL_VERSION}")
    frame = _decode_body(kind, fields)
    return Received(_str(cluster_id, "cluster_id"), _str(reply_addr, "reply_addr"), frame)


def _decode_body(kind: Any, fields: list[Any]) -> Frame:
    if kind == RAFT:
        (payload,) = _exactly(fields, 1, "raft frame")
        payload = _bytes(payload, "raft payload")
        try:
            return RaftFrame(raft_codec.decode_message(payload, PEER_UNPACK_LIMITS))
        except CodecError as exc:
            raise FrameError(f"raft frame: {exc}") from exc
    if kind == WRITE:
        request_id, command, key, role = _exactly(fields, 4, "forwarded write")
        return ForwardWrite(
            _request_id(request_id), _bytes(command, "command"), _str(key, "idempotency_key"), _role(role)
        )
    if kind == JOIN:
        request_id, node_id, addr, role = _exactly(fields, 4, "forwarded join")
        return ForwardJoin(_request_id(request_id), _str(node_id, "node_id"), _str(addr, "addr"), _role(role))
    if kind == REMOVE:
        request_id, node_id, role = _exactly(fields, 3, "forwarded remove")
        return ForwardRemove(_request_id(request_id), _str(node_id, "node_id"), _role(role))
    if kind == TRANSFER:
        request_id, to, role = _exactly(fields, 3, "forwarded transfer")
        return ForwardTransfer(_request_id(request_id), _str(to, "to"), _role(role))
    if kind == REPLY:
        request_id, outcome = _exactly(fields, 2, "forward reply")
        return ForwardReply(_request_id(request_id), outcome_from_obj(outcome))
    if kind == FAILED:
        request_id, reason, leader_id = _exactly(fields, 3, "forward failure")
        if _str(reason, "forward failure reason") not in FAIL_REASONS:
            raise FrameError(f"forward failure: unknown reason {reason!r}")
        if leader_id is not None:
            _str(leader_id, "leader_id")
        return ForwardFailed(_request_id(request_id), reason, leader_id)
    raise FrameError(f"frame: unknown kind {kind!r}")


# --- outcomes ----------------------------------------------------------------------------------------

_OK, _REJECTED = 0, 1
_PLAIN, _PAGE = 0, 1


def outcome_to_obj(outcome: Outcome) -> list[Any]:
    if isinstance(outcome, Rejected):
        return [_REJECTED, outcome.code, outcome.detail, outcome.field]
    if isinstance(outcome.value, Page):
        return [_OK, _PAGE, [outcome.value.items, outcome.value.total]]
    return [_OK, _PLAIN, outcome.value]


def outcome_from_obj(obj: Any) -> Outcome:
    if not isinstance(obj, list) or not obj:
        raise FrameError("outcome: expected an array")
    if obj[0] == _REJECTED:
        _, code, detail, field = _exactly(obj, 4, "rejected outcome")
        if field is not None:
            _str(field, "rejected.field")
        return Rejected(_str(code, "rejected.code"), _str(detail, "rejected.detail"), field)
    if obj[0] == _OK:
        _, tag, value = _exactly(obj, 3, "ok outcome")
        if tag == _PLAIN:
            return Ok(value)
        if tag == _PAGE:
            items, total = _exactly(value, 2, "page")
            if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
                raise FrameError("page.items: expected an array of objects")
            return Ok(Page(items, _request_id(total)))
        raise FrameError(f"ok outcome: unknown value tag {tag!r}")
    raise FrameError(f"outcome: unknown tag {obj[0]!r}")


# --- field checks ------------------------------------------------------------------------------------


def _exactly(fields: Any, count: int, what: str) -> list[Any]:
    if not isinstance(fields, list) or len(fields) != count:
        raise FrameError(f"{what}: expected {count} fields")
    return fields


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise FrameError(f"{what}: expected a string, got {type(value).__name__}")
    return value


def _bytes(value: Any, what: str) -> bytes:
    if not isinstance(value, bytes):
        raise FrameError(f"{what}: expected bytes, got {type(value).__name__}")
    return value


def _role(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or value not in RANK):
        raise FrameError(f"forwarded request: unknown caller role {value!r}")
    return value


def _request_id(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise FrameError(f"expected a non-negative integer, got {value!r}")
    return value
