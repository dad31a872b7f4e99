"""A whole table as a list answer, without building every object's dict at once.

A list without `limit` may hold hundreds of thousands of objects: building all their dicts in one go froze
the node for a second. A RecordsView keeps the ids the list had when the query was answered (a list the store
never mutates) and builds the dicts a slice at a time, as the HTTP layer streams them. An object deleted
meanwhile is left out; one changed meanwhile shows its newer value.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any


class RecordsView(Sequence[dict[str, Any]]):
    __slots__ = ("_ids", "_table")

    def __init__(self, table: dict[str, Any], ids: Sequence[str]) -> None:
        self._table = table
        self._ids = ids

    def __len__(self) -> int:
        return len(self._ids)

    def slice(self, start: int, stop: int) -> list[dict[str, Any]]:
        """The dicts of positions start..stop-1 that still exist."""
        table = self._table
        records = (table.get(object_id) for object_id in self._ids[start:stop])
        return [record.to_dict() for record in records if record is not None]

    def __getitem__(self, position: Any) -> Any:
        if isinstance(position, slice):
            return self.slice(*position.indices(len(self._ids))[:2])
        return self._table[self._ids[position]].to_dict()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for start in range(0, len(self._ids), 1000):
            yield from self.slice(start, start + 1000)

    def __eq__(self, other: object) -> bool:
        return list(self) == other

    __hash__ = None  # type: ignore[assignment]
