"""The filament ledger: reserving, consuming and restocking grams on a spool, exact in whole grams.

invariant (per spool): 0 <= reserved <= remaining <= total, and reserved = summed weight of its active jobs.
Each function here either refuses (returns a sentence) or keeps that invariant.
"""

from __future__ import annotations

from farm.records import Filament
from farm.results import Rejected


def reservation_refusal(filament: Filament, grams: int) -> Rejected | None:
    available = filament.available
    if grams <= available:
        return None
    return Rejected(
        "insufficient_filament",
        f"filament {filament.id} has {available} g available ({filament.remaining} g remaining, "
        f"{filament.reserved} g reserved); the job needs {grams} g",
        "print_weight_in_grams",
    )


def reserve(filament: Filament, grams: int) -> None:
    filament.reserved += grams


def settle(filament: Filament, reserved: int, used: int) -> None:
    """A job ended: release its reservation and take what it used (used <= reserved keeps the invariant)."""
    filament.reserved -= reserved
    filament.remaining -= used


def restock_refusal(filament: Filament, total: int, remaining: int, remaining_given: bool) -> Rejected | None:
    """Why the spool may not be set to `total` / `remaining` grams, or None."""
    if remaining > total:
        field = "remaining_weight_in_grams" if remaining_given else "total_weight_in_grams"
        return Rejected(
            "invalid_field",
            f"filament {filament.id} would have {remaining} g remaining out of a total of {total} g; "
            "remaining_weight_in_grams cannot exceed total_weight_in_grams",
            field,
        )
    if remaining < filament.reserved:
        return Rejected(
            "insufficient_filament",
            f"filament {filament.id} has {filament.reserved} g reserved by its queued, running and paused "
            f"jobs; its remaining weight cannot drop to {remaining} g",
            "remaining_weight_in_grams",
        )
    return None
