"""decode_round checks the usual entry shape inline (a start-up decodes every entry of the log): it must
accept and refuse exactly what the codec's own entry_from_obj accepts and refuses."""

from __future__ import annotations

from typing import Any

import pytest

from raft.codec import CodecError, entry_from_obj, packb
from raft.storage.rounds import MAGIC, decode_round
from raft.types import Entry, EntryKind

ENTRY_OBJECTS: list[Any] = [
    [1, 2, 0, b"x"],
    [3, 4, 1, b""],
    [1, 2, True, b"x"],  # a bool kind: the codec's enum lookup takes it as 1
    [1, 2, 0.0, b"x"],
    [1, 2, 7, b"x"],
    [-1, 2, 0, b"x"],
    [1, -2, 0, b"x"],
    [1, 2, 0, "text"],
    [1.0, 2, 0, b"x"],
    [1, 2, 0],
    "not an entry",
    [1, 2, [0], b"x"],
]


@pytest.mark.parametrize("obj", ENTRY_OBJECTS, ids=repr)
def test_an_entry_in_a_round_decodes_as_the_codec_decodes_it(obj: Any) -> None:
    payload = packb([MAGIC, 5, 0, obj])
    try:
        expected: Entry | str = entry_from_obj(obj)
    except CodecError as exc:
        expected = str(exc)
    try:
        decoded = decode_round(memoryview(payload))
    except CodecError as exc:
        assert str(exc) == expected
    else:
        assert decoded.seq == 5
        assert decoded.items == (expected,)
        assert type(decoded.items[0].kind) is EntryKind  # type: ignore[union-attr]
