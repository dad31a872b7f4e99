"""The log as the protocol sees it: a snapshot point followed by the entries after it, all in memory.

The runtime persists what Ready hands it; this class only tracks how far that has got. Indices:

    applied <= applying <= committed <= last_index(),  snapshot_index <= applying
    stable_index < persist_from <= last_index() + 1

`applying` is how far committed entries have been handed out in a Ready (applied once advance() says so);
`persist_from` is the first entry not yet handed out to persist; `stable_index` is how far the log is durable
and agrees with memory (the leader counts itself toward a commit quorum only up to here, thesis §10.2.1).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from operator import attrgetter

from raft.types import Entry, Snapshot

_data = attrgetter("data")


class RaftLog:
    __slots__ = (
        "applied",
        "applying",
        "committed",
        "entries",
        "pending_snapshot",
        "persist_from",
        "snapshot_index",
        "snapshot_term",
        "stable_index",
    )

    def __init__(
        self,
        snapshot_index: int = 0,
        snapshot_term: int = 0,
        entries: Sequence[Entry] = (),
        committed: int = 0,
    ) -> None:
        self.snapshot_index = snapshot_index
        self.snapshot_term = snapshot_term
        # invariant: entries[k].index == snapshot_index + 1 + k
        self.entries: list[Entry] = list(entries)
        last = self.last_index()
        # The persisted commit may lag the snapshot, never lead the log; the leader re-teaches it safely.
        self.committed = min(max(committed, snapshot_index), last)
        # A restarted state machine resumes from the snapshot and re-applies what follows it.
        self.applied = snapshot_index
        self.applying = snapshot_index
        self.stable_index = last  # what we recover from is durable by definition
        self.persist_from = last + 1
        self.pending_snapshot: Snapshot | None = None  # received from a leader, not yet handed out to persist

    # --- reading -------------------------------------------------------------------------------------

    def last_index(self) -> int:
        return self.snapshot_index + len(self.entries)

    def last_term(self) -> int:
        return self.entries[-1].term if self.entries else self.snapshot_term

    def first_index(self) -> int:
        return self.snapshot_index + 1

    def term(self, index: int) -> int | None:
        """The term of the entry at `index`; None if compacted away or beyond the end."""
        offset = index - self.snapshot_index
        if offset == 0:
            return self.snapshot_term
        if offset < 0 or offset > len(self.entries):
            return None
        return self.entries[offset - 1].term

    def slice(self, low: int, high: int) -> list[Entry]:
        """Entries with low <= index < high; low must be above the snapshot point."""
        base = self.snapshot_index + 1
        return self.entries[low - base : high - base]

    def batch(self, low: int, max_count: int, max_bytes: int) -> list[Entry]:
        """Entries from `low` on, at most max_count of them and max_bytes of data (at least one entry)."""
        start = low - self.snapshot_index - 1
        chunk = self.entries[start : start + max_count]
        if len(chunk) > 1 and sum(map(len, map(_data, chunk))) > max_bytes:
            sizes = list(accumulate(map(len, map(_data, chunk))))
            chunk = chunk[: max(1, bisect_right(sizes, max_bytes))]
        return chunk

    def is_up_to_date(self, last_index: int, last_term: int) -> bool:
        """Raft §5.4.1: a candidate's log at least as up-to-date as ours may get our vote."""
        our_term = self.last_term()
        return last_term > our_term or (last_term == our_term and last_index >= self.last_index())

    def find_conflict_by_term(self, index: int, term: int) -> tuple[int, int]:
        """The largest (i, term(i)) with i <= index and term(i) <= term; compacted entries count as matching.

        Used by a rejecting follower (its hint) and by the leader reading a hint (etcd findConflictByTerm).
        """
        index = min(index, self.last_index())
        while index > self.snapshot_index:
            entry_term = self.entries[index - self.snapshot_index - 1].term
            if entry_term <= term:
                return index, entry_term
            index -= 1
        return index, (self.snapshot_term if index == self.snapshot_index else 0)

    # --- writing -------------------------------------------------------------------------------------

    def append(self, entries: Sequence[Entry]) -> None:
        """Leader side: entries continue the log."""
        self.entries.extend(entries)

    def maybe_append(
        self, prev_index: int, prev_term: int, entries: Sequence[Entry]
    ) -> tuple[int, int] | None:
        """Follower side (Raft fig. 2, AppendEntries 2-4). None if (prev_index, prev_term) does not match.

        Otherwise (last_new, truncated_from): the index of the last entry the leader sent, and the index from
        which our log was replaced (0 if nothing was truncated). Entries we already hold are kept, so a
        stale or duplicated message never cuts off anything newer.
        """
        if self.term(prev_index) != prev_term:
            return None
        last_new = prev_index + len(entries)
        if not entries:
            return last_new, 0
        conflict = self._find_conflict(entries)
        if not conflict:
            return last_new, 0
        truncated = conflict if conflict <= self.last_index() else 0
        self._truncate_and_append(entries[conflict - entries[0].index :])
        return last_new, truncated

    def _find_conflict(self, entries: Sequence[Entry]) -> int:
        """The first index where `entries` differ from (or extend) ours; 0 if we hold them all."""
        last = self.last_index()
        first = entries[0].index
        if first > last:
            return first
        tail = entries[-1]
        if tail.index <= last and self.term(tail.index) == tail.term:
            return 0  # Log Matching: the same last entry implies the same prefix
        for entry in entries:
            if entry.index > last or self.term(entry.index) != entry.term:
                return entry.index
        return 0

    def _truncate_and_append(self, entries: Sequence[Entry]) -> None:
        first = entries[0].index
        # invariant: committed entries are never replaced (Leader Completeness, Raft §5.4)
        assert first > self.committed, "attempt to overwrite a committed entry"
        if first <= self.last_index():
            del self.entries[first - self.snapshot_index - 1 :]
            self.persist_from = min(self.persist_from, first)
            self.stable_index = min(self.stable_index, first - 1)
        self.entries.extend(entries)

    def commit_to(self, index: int) -> bool:
        if index > self.committed:
            self.committed = index
            return True
        return False

    def restore(self, snapshot: Snapshot) -> None:
        """Replace the whole log by a snapshot received from the leader."""
        self.snapshot_index = snapshot.index
        self.snapshot_term = snapshot.term
        self.entries = []
        self.committed = snapshot.index
        self.applying = max(self.applying, snapshot.index)
        self.stable_index = min(self.stable_index, snapshot.index)
        self.persist_from = snapshot.index + 1
        self.pending_snapshot = snapshot

    def tail_start(self, index: int, max_count: int, max_bytes: int) -> int:
        """The index after which at most `max_count` entries and `max_bytes` bytes of data up to `index`
        are kept (the newest ones); `index` itself if none fit."""
        start = index
        floor = max(index - max_count, self.snapshot_index)
        held = 0
        entries, base = self.entries, self.snapshot_index + 1
        while start > floor:
            held += len(entries[start - base].data)
            if held > max_bytes:
                break
            start -= 1
        return start

    def compact(self, index: int) -> None:
        """Forget entries up to `index` (handed out to apply, hence durable)."""
        term = self.term(index)
        assert term is not None and index <= self.applying
        del self.entries[: index - self.snapshot_index]
        self.snapshot_index = index
        self.snapshot_term = term

    # --- Ready bookkeeping ---------------------------------------------------------------------------

    def unstable_entries(self) -> list[Entry]:
        return self.entries[self.persist_from - self.snapshot_index - 1 :]

    def committed_to_apply(self) -> list[Entry]:
        if self.applying >= self.committed:
            return []
        return self.slice(self.applying + 1, self.committed + 1)

    def stable_to(self, entries: Sequence[Entry]) -> None:
        """The runtime persisted `entries`: mark durable the prefix that still agrees with memory."""
        for entry in reversed(entries):
            if self.term(entry.index) == entry.term:
                # Log Matching: the same (index, term) implies the same prefix, so all before is ours too.
                self.stable_index = max(self.stable_index, min(entry.index, self.persist_from - 1))
                return

    def stable_snapshot(self, snapshot: Snapshot) -> None:
        if snapshot.index <= self.snapshot_index:
            self.stable_index = max(self.stable_index, snapshot.index)
