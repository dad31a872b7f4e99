"""Refusals shared by several kinds of object, each with a sentence naming what was refused and why."""

from __future__ import annotations

from farm.results import Rejected
from farm.store import Store


def already_exists(kind: str, object_id: str, field: str = "id") -> Rejected:
    return Rejected("already_exists", f"{kind} {object_id} already exists", field)


def not_found(kind: str, object_id: str, field: str = "id") -> Rejected:
    return Rejected("not_found", f"{kind} {object_id} does not exist", field)


def in_use(store: Store, kind: str, object_id: str, job_ids: dict[str, None]) -> Rejected:
    first = next(iter(job_ids))
    others = len(job_ids) - 1
    more = f" and {others} other active job{'s' if others > 1 else ''}" if others else ""
    return Rejected(
        "in_use",
        f"{kind} {object_id} is used by job {first} ({store.jobs[first].status}){more}; "
        f"finish or cancel {'them' if others else 'it'} before deleting the {kind}",
    )
