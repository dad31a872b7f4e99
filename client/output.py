"""How the client commands print for people: aligned tables and key: value blocks.

Columns that no row has are left out, so fields a node does not serve yet (or no longer) simply do not show.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

# (field, heading) in display order, per kind of object; fields beyond these show in `show` only.
PRINTER_COLUMNS = [
    ("id", "ID"),
    ("company", "COMPANY"),
    ("model", "MODEL"),
    ("status", "STATUS"),
    ("current_job_id", "CURRENT JOB"),
    ("queue_length", "QUEUE"),
    ("maintenance", "MAINTENANCE"),
    ("bed_clear", "BED CLEAR"),
]
FILAMENT_COLUMNS = [
    ("id", "ID"),
    ("type", "TYPE"),
    ("color", "COLOR"),
    ("total_weight_in_grams", "TOTAL g"),
    ("remaining_weight_in_grams", "REMAINING g"),
    ("reserved_weight_in_grams", "RESERVED g"),
    ("available_weight_in_grams", "AVAILABLE g"),
    ("low_stock", "LOW STOCK"),
]
JOB_COLUMNS = [
    ("job_id", "JOB"),
    ("printer_id", "PRINTER"),
    ("filament_id", "FILAMENT"),
    ("print_weight_in_grams", "WEIGHT g"),
    ("status", "STATUS"),
    ("priority", "PRIORITY"),
    ("progress_percent", "PROGRESS %"),
    ("used_weight_in_grams", "USED g"),
    ("failure_reason", "REASON"),
    ("details", "DETAILS"),
]
LEDGER_COLUMNS = [
    ("index", "INDEX"),
    ("at", "AT"),
    ("kind", "KIND"),
    ("job_id", "JOB"),
    ("remaining_delta", "REMAINING ±g"),
    ("reserved_delta", "RESERVED ±g"),
    ("remaining_after", "REMAINING g"),
    ("reserved_after", "RESERVED g"),
]
MEMBER_COLUMNS = [("node_id", "NODE"), ("role", "ROLE"), ("addr", "ADDRESS"), ("leader", "LEADER")]


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    shown = [(key, head) for key, head in columns if any(key in row for row in rows)] or list(columns[:1])
    grid = [[head for _, head in shown]]
    grid += [[cell(row.get(key)) for key, _ in shown] for row in rows]
    widths = [max(len(line[i]) for line in grid) for i in range(len(shown))]
    lines = ["  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)) for line in grid]
    return "\n".join(line.rstrip() for line in lines)


def block(item: dict[str, Any]) -> str:
    width = max((len(key) for key in item), default=0)
    return "\n".join(f"{key.ljust(width)}  {cell(value)}" for key, value in item.items())


def echo(text: str) -> None:
    click.echo(text)


def stats(answer: dict[str, Any]) -> str:
    """GET /api/v1/stats as blocks: each mapping (jobs by status, ...) under its name, numbers as they are."""
    scalars = {key: value for key, value in answer.items() if not isinstance(value, dict)}
    parts = [block(scalars)] if scalars else []
    for key, value in answer.items():
        if isinstance(value, dict):
            parts.append(
                f"{key}:\n" + ("\n".join(f"  {line}" for line in block(value).splitlines()) or "  -")
            )
    return "\n".join(parts)
