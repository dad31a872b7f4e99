"""A crash in the middle of an append leaves a torn tail: recovery keeps the valid prefix and carries on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from raft.types import Entry, HardState, RecoveredState
from tests.storage.helpers import entries, reopen, save_all, segments

BATCHES: list[tuple[HardState | None, list[Entry]]] = [
    (HardState(1, "n1", 0), entries(1, 3)),
    (None, entries(4, 6, size=30)),
    (HardState(2, "n2", 3), entries(5, 7, term=2)),  # a new leader overwrites 5..6
    (HardState(2, "n2", 6), []),
    (None, entries(8, 9, term=2, size=40)),
    (HardState(3, None, 7), entries(10, 10, term=3)),
]


def expected_after(rounds: int) -> RecoveredState:
    log: list[Entry] = []
    hard_state = HardState()
    for state, batch in BATCHES[:rounds]:
        if batch:
            log = log[: batch[0].index - 1] + batch
        hard_state = state or hard_state
    return RecoveredState(hard_state, None, tuple(log))


def write_rounds(path: Path, segment_bytes: int) -> list[list[int]]:
    """Saves BATCHES one round each; returns the segment sizes after each round."""
    sizes = []
    for count in range(1, len(BATCHES) + 1):
        save_all(path, BATCHES[count - 1 : count], segment_bytes=segment_bytes)
        sizes.append([segment.stat().st_size for segment in segments(path)])
    return sizes


def test_every_cut_of_a_single_segment_recovers_a_valid_prefix(tmp_path: Path) -> None:
    sizes = write_rounds(tmp_path, 1 << 20)
    (segment,) = segments(tmp_path)
    pristine = segment.read_bytes()
    ends = [round_sizes[0] for round_sizes in sizes]
    assert ends[-1] == len(pristine)
    for cut in range(len(pristine) + 1):
        segment.write_bytes(pristine[:cut])
        complete = sum(1 for end in ends if end <= cut)
        assert reopen(tmp_path) == expected_after(complete), f"cut at byte {cut}"
        kept = segment.stat().st_size if segment.exists() else 0
        assert kept == (ends[complete - 1] if complete else 0), f"cut at byte {cut}"


def test_every_cut_of_the_last_segment_after_rotation(tmp_path: Path) -> None:
    sizes = write_rounds(tmp_path, 100)
    files = segments(tmp_path)
    assert len(files) >= 3, "the test needs rotation"
    last = files[-1]
    pristine = last.read_bytes()
    rounds_before_last = sum(1 for round_sizes in sizes if len(round_sizes) < len(files))
    ends = [round_sizes[-1] for round_sizes in sizes if len(round_sizes) == len(files)]
    for cut in range(len(pristine) + 1):
        last.write_bytes(pristine[:cut])
        complete = rounds_before_last + sum(1 for end in ends if end <= cut)
        assert reopen(tmp_path, segment_bytes=100) == expected_after(complete), f"cut at byte {cut}"


@pytest.mark.parametrize("tail", [b"\x00" * 4096, os.urandom(777), b"\xff\xff\xff\x7f" + b"\x00" * 12])
def test_zeros_or_garbage_after_the_last_round_are_a_torn_tail(tmp_path: Path, tail: bytes) -> None:
    write_rounds(tmp_path, 1 << 20)
    (segment,) = segments(tmp_path)
    size = segment.stat().st_size
    with segment.open("ab") as file:
        file.write(tail)
    assert reopen(tmp_path) == expected_after(len(BATCHES))
    assert segment.stat().st_size == size


def test_after_cutting_a_torn_tail_the_node_appends_and_recovers_again(tmp_path: Path) -> None:
    sizes = write_rounds(tmp_path, 1 << 20)
    (segment,) = segments(tmp_path)
    with segment.open("r+b") as file:
        file.truncate(sizes[-1][0] - 3)  # the last round is torn
    assert reopen(tmp_path) == expected_after(len(BATCHES) - 1)
    save_all(tmp_path, [(HardState(4, "n1", 9), entries(10, 11, term=4))])
    recovered = reopen(tmp_path)
    assert recovered.hard_state == HardState(4, "n1", 9)
    assert recovered.entries == expected_after(len(BATCHES) - 1).entries[:9] + tuple(entries(10, 11, term=4))


def test_a_crash_right_after_creating_a_segment_leaves_an_empty_one_that_is_dropped(tmp_path: Path) -> None:
    write_rounds(tmp_path, 100)
    files = segments(tmp_path)
    first_seq_next = int(files[-1].stem) + 100
    (tmp_path / "wal" / f"{first_seq_next:020d}.wal").write_bytes(b"")
    assert reopen(tmp_path, segment_bytes=100) == expected_after(len(BATCHES))
    assert segments(tmp_path) == files
