"""msgpack encoding of the farm's commands, proposals and stored outcomes: the one place they become bytes.

A command is `[TAG, *fields]` in declaration order. The codec checks shape (an array, a known tag, the
right number of fields, each a scalar); whether a value is right for its field (a whole number of grams, an
id of at most 128 characters...) is the state machine's question (farm/validation.py), so a wrong value
comes back as invalid_field naming the field rather than as an unreadable log entry.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from operator import attrgetter
from typing import Any

import msgpack

from farm.commands import (
    BootstrapAcl,
    ClearBed,
    Command,
    CreateFilament,
    CreateJob,
    CreatePrinter,
    CreateToken,
    DeleteFilament,
    DeletePrinter,
    DispatchJob,
    EndJobFromPrinter,
    ReportPrinterState,
    ReportProgress,
    RetryJob,
    RevokeToken,
    SetJobStatus,
    SetPrinterConnection,
    UpdateFilament,
    UpdateJob,
    UpdatePrinter,
)
from farm.records import MAX_AT_MS
from farm.results import Ok, Outcome, Rejected

PROPOSAL_VERSION = 1
MAX_IDEMPOTENCY_KEY_LENGTH = 255


class CommandCodecError(ValueError):
    """Bytes (or a value) that are not a farm command, proposal or stored outcome."""


# Stable wire tags: never reuse or renumber one, the log holds them forever.
_TAGS: dict[type, int] = {
    CreatePrinter: 1,
    UpdatePrinter: 2,
    DeletePrinter: 3,
    CreateFilament: 4,
    UpdateFilament: 5,
    DeleteFilament: 6,
    CreateJob: 7,
    SetJobStatus: 8,
    # the farm's workflow: 20..39 (9..19 are left to the other wave-2 commands, tokens and connections)
    ClearBed: 20,
    UpdateJob: 21,
    ReportProgress: 22,
    RetryJob: 23,
    # access control (farm/tokens.py): a range of its own, clear of the farm's next commands
    BootstrapAcl: 40,
    CreateToken: 41,
    RevokeToken: 42,
    # printer connections: 15..19
    SetPrinterConnection: 15,
    ReportPrinterState: 16,
    DispatchJob: 17,
    EndJobFromPrinter: 18,
}
_CLASSES: dict[int, type] = {tag: cls for cls, tag in _TAGS.items()}
_GETTERS: dict[type, attrgetter] = {cls: attrgetter(*(f.name for f in fields(cls))) for cls in _TAGS}
_ARITY: dict[int, int] = {tag: len(fields(cls)) + 1 for tag, cls in _CLASSES.items()}
# A command written before a field with a default was added has fewer fields: the log holds it forever.
_MIN_ARITY: dict[int, int] = {
    tag: sum(1 for f in fields(cls) if f.default is MISSING) + 1 for tag, cls in _CLASSES.items()
}
_DEFAULTS: dict[type, tuple[Any, ...]] = {cls: tuple(f.default for f in fields(cls)) for cls in _TAGS}
_SCALARS = frozenset((str, int, float, bool, type(None)))
_BYTES_LIKE = (bytes, bytearray, memoryview)


@dataclass(frozen=True, slots=True)
class Proposal:
    """One log entry's farm payload: the command, the leader's clock when proposed, the client's retry key.

    `encoded_command` is the command as the proposer encoded it: what a retry under the same key must repeat.
    """

    command: Command
    at_ms: int
    idempotency_key: str | None = None
    encoded_command: bytes = b""


def _packb(obj: Any) -> bytes:
    try:
        return msgpack.packb(obj, use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as exc:
        raise CommandCodecError(f"cannot encode: {exc}") from exc


def _unpackb(data: bytes, what: str) -> Any:
    if not isinstance(data, _BYTES_LIKE):
        raise CommandCodecError(f"{what}: expected bytes, got {type(data).__name__}")
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated types on bad input
        raise CommandCodecError(f"{what}: not valid msgpack ({type(exc).__name__})") from exc


# --- commands --------------------------------------------------------------------------------------------


def command_to_obj(command: Command) -> list[Any]:
    cls = type(command)
    tag = _TAGS.get(cls)
    if tag is None:
        raise CommandCodecError(f"{cls.__name__} is not a farm command")
    values = _GETTERS[cls](command)
    if type(values) is not tuple:  # attrgetter of one name returns the bare value
        values = (values,)
    for value in values:
        if type(value) not in _SCALARS:
            raise CommandCodecError(f"{cls.__name__}: fields must be scalars, got {type(value).__name__}")
    # Trailing fields left at their defaults are not written: a command that uses no field added later is
    # the same bytes as before that field existed (and a node that predates it can still read it).
    defaults, size = _DEFAULTS[cls], len(values)
    while size and type(values[size - 1]) is type(defaults[size - 1]):
        if values[size - 1] != defaults[size - 1]:
            break
        size -= 1
    return [tag, *values[:size]]


def command_from_obj(obj: Any) -> Command:
    if type(obj) is not list or not obj:
        raise CommandCodecError(f"command: expected a non-empty array, got {type(obj).__name__}")
    tag = obj[0]
    if type(tag) is not int or tag not in _CLASSES:
        raise CommandCodecError(f"command: unknown tag {tag!r}")
    if not _MIN_ARITY[tag] <= len(obj) <= _ARITY[tag]:
        raise CommandCodecError(
            f"command: {_CLASSES[tag].__name__} has {_ARITY[tag] - 1} fields, got {len(obj) - 1}"
        )
    for value in obj[1:]:
        if type(value) not in _SCALARS:
            raise CommandCodecError(f"command: field values must be scalars, got {type(value).__name__}")
    return _CLASSES[tag](*obj[1:])


def encoded_type(command: bytes) -> type | None:
    """The class of an encoded command from its first two bytes alone (a msgpack fixarray whose first item
    is a positive fixint: every tag is below 128), without decoding it; None if they are not that or the tag
    is unknown. For checks that must be cheap on the leader's hot path (farm/roles.py, farm/quota.py)."""
    if len(command) < 2 or not 0x90 <= command[0] <= 0x9F or command[1] >= 0x80:
        return None
    return _CLASSES.get(command[1])


def encode_command(command: Command) -> bytes:
    return _packb(command_to_obj(command))


def decode_command(data: bytes) -> Command:
    return command_from_obj(_unpackb(data, "command"))


# --- proposals (a log entry's data) --------------------------------------------------------------------


def _check_at_ms(at_ms: Any) -> int:
    if type(at_ms) is not int or not 0 <= at_ms <= MAX_AT_MS:
        raise CommandCodecError(f"proposal: at_ms must be ms since the epoch up to year 9999, got {at_ms!r}")
    return at_ms


def _check_key(key: Any) -> str | None:
    if key is not None and (type(key) is not str or not 0 < len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH):
        raise CommandCodecError(
            f"proposal: an idempotency key is a string of 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters"
        )
    return key


def encode_proposal(command: bytes, at_ms: int, idempotency_key: str | None) -> bytes:
    """The log entry's data; the leader stamps `at_ms` (its wall clock) when it proposes."""
    if not isinstance(command, bytes):
        raise CommandCodecError(f"proposal: the command must be encoded bytes, got {type(command).__name__}")
    return _packb([PROPOSAL_VERSION, _check_at_ms(at_ms), _check_key(idempotency_key), command])


def decode_proposal(data: bytes) -> Proposal:
    obj = _unpackb(data, "proposal")
    if type(obj) is not list or len(obj) != 4 or obj[0] != PROPOSAL_VERSION or type(obj[0]) is not int:
        raise CommandCodecError("proposal: expected [version 1, at_ms, idempotency key, command]")
    _, at_ms, key, command = obj
    if type(command) is not bytes:
        raise CommandCodecError("proposal: the command must be bytes")
    return Proposal(decode_command(command), _check_at_ms(at_ms), _check_key(key), command)


# --- outcomes (kept per idempotency key) -----------------------------------------------------------------


def outcome_to_obj(outcome: Outcome) -> list[Any]:
    if type(outcome) is Ok:
        return [0, outcome.value]
    if type(outcome) is Rejected:
        return [1, outcome.code, outcome.detail, outcome.field]
    raise CommandCodecError(f"not an outcome: {type(outcome).__name__}")


def decode_outcome_obj(obj: Any) -> Outcome:
    if type(obj) is list and len(obj) == 2 and obj[0] == 0:
        return Ok(obj[1])
    if type(obj) is list and len(obj) == 4 and obj[0] == 1:
        return Rejected(obj[1], obj[2], obj[3])
    raise CommandCodecError("outcome: expected [0, value] or [1, code, detail, field]")


