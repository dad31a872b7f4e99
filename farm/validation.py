"""Checks a command can pass or fail on its own, before the farm's state is consulted.

apply() runs these on every command, so a value of the wrong type can never reach the state whatever the
proposer sent. The HTTP layer may call check_command() before proposing to refuse early with the same
Rejected (code invalid_field, naming the field) that apply() would return.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from farm.commands import (
    ClearBed,
    Command,
    CreateFilament,
    CreateJob,
    CreatePrinter,
    DeleteFilament,
    DeletePrinter,
    ReportProgress,
    RetryJob,
    SetJobStatus,
    UpdateFilament,
    UpdateJob,
    UpdatePrinter,
)
from farm.lifecycle import FAILURE_REASONS, MAX_PRIORITY, MIN_PRIORITY, STATUSES
from farm.results import Rejected

MAX_ID_LENGTH = 128
MAX_WEIGHT = 10_000_000

Check = Callable[[Any, str], "Rejected | None"]


def _invalid(field: str, detail: str) -> Rejected:
    return Rejected("invalid_field", detail, field)


def check_text(value: Any, field: str) -> Rejected | None:
    if type(value) is not str:
        return _invalid(field, f"{field} must be a string, got {_kind(value)}")
    if not value.isascii() and not _is_utf8_encodable(value):
        return _invalid(field, f"{field} holds a lone surrogate (as JSON may escape one), not valid text")
    return None


def _is_utf8_encodable(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def check_id(value: Any, field: str) -> Rejected | None:
    """The rule for a new object's id; the HTTP layer applies this same rule to ids it is given."""
    if type(value) is not str:
        return _invalid(field, f"{field} must be a string, got {_kind(value)}")
    if not value:
        return _invalid(field, f"{field} must not be empty")
    if len(value) > MAX_ID_LENGTH:
        return _invalid(field, f"{field} has {len(value)} characters; at most {MAX_ID_LENGTH} are allowed")
    if not value.isprintable():
        return _invalid(field, f"{field} may contain only printable characters, got {value!r}")
    if "/" in value:
        return _invalid(
            field,
            f"{field} must not contain '/': an id is one segment of the API's paths "
            "(such as /api/v1/printers/{id}), which a '/' would split",
        )
    return None


def is_valid_id(value: Any) -> bool:
    return check_id(value, "id") is None


def check_weight(value: Any, field: str) -> Rejected | None:
    if type(value) is not int:  # excludes bool, which is an int subclass
        return _invalid(field, f"{field} must be a whole number of grams, got {_kind(value)}")
    if not 0 <= value <= MAX_WEIGHT:
        return _invalid(field, f"{field} must be between 0 and {MAX_WEIGHT} grams, got {value}")
    return None


def check_status(value: Any, field: str) -> Rejected | None:
    if type(value) is not str or value not in STATUSES:
        names = ", ".join(STATUSES)
        # _kind shortens the value: a misspelt name may be a whole query string sent by a client
        return _invalid(field, f"{field} must be one of {names} (exactly so spelt), got {_kind(value)}")
    return None


def check_priority(value: Any, field: str) -> Rejected | None:
    if type(value) is not int or not MIN_PRIORITY <= value <= MAX_PRIORITY:
        return _invalid(
            field, f"{field} must be a whole number from {MIN_PRIORITY} to {MAX_PRIORITY}, got {_kind(value)}"
        )
    return None


def check_percent(value: Any, field: str) -> Rejected | None:
    if type(value) is not int or not 0 <= value <= 100:
        return _invalid(field, f"{field} must be a whole number from 0 to 100, got {_kind(value)}")
    return None


def check_reason(value: Any, field: str) -> Rejected | None:
    if type(value) is not str or value not in FAILURE_REASONS:
        names = ", ".join(FAILURE_REASONS)
        return _invalid(field, f"{field} must be one of {names}, got {_kind(value)}")
    return None


def check_flag(value: Any, field: str) -> Rejected | None:
    if type(value) is not bool:
        return _invalid(field, f"{field} must be true or false, got {_kind(value)}")
    return None


def _optional(check: Check) -> Check:
    def check_optional(value: Any, field: str) -> Rejected | None:
        return None if value is None else check(value, field)

    return check_optional


_FIELD_CHECKS: dict[type, tuple[tuple[str, Check], ...]] = {
    # an id that only names an object (update, delete, status) needs no shape rule: it is found or not
    CreatePrinter: (("id", check_id), ("company", check_text), ("model", check_text)),
    UpdatePrinter: (
        ("id", check_text),
        ("company", _optional(check_text)),
        ("model", _optional(check_text)),
        ("maintenance", _optional(check_flag)),
    ),
    DeletePrinter: (("id", check_text),),
    CreateFilament: (
        ("id", check_id),
        ("type", check_text),
        ("color", check_text),
        ("total_weight_in_grams", check_weight),
        ("remaining_weight_in_grams", check_weight),
        ("low_stock_threshold_in_grams", _optional(check_weight)),
    ),
    UpdateFilament: (
        ("id", check_text),
        ("type", _optional(check_text)),
        ("color", _optional(check_text)),
        ("total_weight_in_grams", _optional(check_weight)),
        ("remaining_weight_in_grams", _optional(check_weight)),
        ("low_stock_threshold_in_grams", _optional(check_weight)),
    ),
    DeleteFilament: (("id", check_text),),
    CreateJob: (
        ("job_id", check_id),
        ("printer_id", check_id),
        ("filament_id", check_id),
        ("print_weight_in_grams", check_weight),
        ("details", check_text),
        ("priority", check_priority),
    ),
    SetJobStatus: (
        ("job_id", check_text),
        ("status", check_status),
        ("used_grams", _optional(check_weight)),
        ("reason", _optional(check_reason)),
    ),
    ClearBed: (("printer_id", check_text),),
    UpdateJob: (
        ("job_id", check_text),
        ("priority", _optional(check_priority)),
        ("details", _optional(check_text)),
    ),
    ReportProgress: (
        ("job_id", check_text),
        ("percent", _optional(check_percent)),
        ("used_grams", _optional(check_weight)),
    ),
    RetryJob: (("job_id", check_text), ("new_job_id", check_id)),
}


def check_command(command: Command) -> Rejected | None:
    """The first field of `command` that is wrong on its own, as an invalid_field Rejected, or None."""
    checks = _FIELD_CHECKS.get(type(command))
    if checks is None:
        return Rejected("malformed_command", f"{type(command).__name__} is not a farm command")
    for field, check in checks:
        rejection = check(getattr(command, field), field)
        if rejection is not None:
            return rejection
    if type(command) is CreateFilament and command.remaining_weight_in_grams > command.total_weight_in_grams:
        return _invalid(
            "remaining_weight_in_grams",
            f"remaining_weight_in_grams ({command.remaining_weight_in_grams} g) cannot exceed "
            f"total_weight_in_grams ({command.total_weight_in_grams} g)",
        )
    if type(command) is SetJobStatus and command.reason is not None and command.status != "Failed":
        return _invalid("reason", f"reason is given only when a job becomes Failed, not {command.status}")
    if type(command) is ReportProgress and command.percent is None and command.used_grams is None:
        return _invalid("percent", "a progress report needs percent, used_grams or both")
    return None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, float):
        return f"a fractional number ({value!r})"
    if isinstance(value, str):
        return f"a string ({value[:40]!r}{'...' if len(value) > 40 else ''})"
    return type(value).__name__
