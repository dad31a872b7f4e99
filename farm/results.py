"""What applying a command or answering a query produces: a value, or a refusal with a reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Ok:
    value: Any = None  # a JSON-ready dict, a Page, or None (delete)


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    total: int  # items matching the filters, before limit/offset


@dataclass(frozen=True, slots=True)
class Rejected:
    """A refused command changes nothing. `code` is API.md's error code (already_exists, not_found, ...)."""

    code: str
    detail: str
    field: str | None = None


Outcome = Ok | Rejected


@dataclass(frozen=True, slots=True)
class Event:
    """One applied change, as published on /api/v1/events."""

    index: int
    type: str  # e.g. "printer.created", "job.status_changed"
    data: dict[str, Any]
    # One entry can change several things (a job and its filament); only its last event completes the index,
    # so only that one may be the SSE id a client resumes from.
    last_of_index: bool = True


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying one log entry produced: the answer for the proposer and the changes to publish.

    Ok.value and an event's data may be the very same dict: treat both as read-only.
    """

    outcome: Outcome
    events: tuple[Event, ...] = ()
