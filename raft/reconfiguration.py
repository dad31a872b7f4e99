"""Membership changes, one server at a time (thesis §4.1): appending configuration entries, tracking the
members on the leader, and promoting learners that caught up.

A configuration is in force from the moment it is appended, on leader and followers alike. A mixin of
RaftNode (raft/core.py), which holds the state these methods use; raft/membership.py holds the history.
"""

from __future__ import annotations

from raft.codec import CodecError, decode_conf_change, encode_conf_change
from raft.progress import Progress
from raft.role import Role
from raft.types import ConfChange, ConfChangeKind, Entry, EntryKind

_CONF_CHANGE = EntryKind.CONF_CHANGE


class ReconfigurationMixin:
    def _append_conf_change(self, change: ConfChange) -> int:
        index = self.log.last_index() + 1
        entry = Entry(self.term, index, _CONF_CHANGE, encode_conf_change(change))
        self.log.append((entry,))
        self._pending_conf_index = index
        self._append_config(entry)
        self._replicate_pending = True
        return index

    def _append_config(self, entry: Entry) -> None:
        try:
            change = decode_conf_change(entry.data)
        except CodecError:
            return  # a leader never appends this; treat a garbled change as a no-op rather than fail
        self._configs.append(entry.index, change)
        if self.role is Role.LEADER:
            self._sync_progress()

    def _sync_progress(self) -> None:
        """Track exactly the current members; the quorum may have changed, so re-check commit and reads."""
        ids = self.membership.ids
        next_index = self.log.last_index() + 1
        for member in self.membership.members:
            node_id = member.node_id
            if node_id != self.node_id and node_id not in self._progress:
                progress = Progress(next_index, self.config.max_inflight)
                progress.recent_active = True  # give a newcomer a full election timeout before it counts
                self._progress[node_id] = progress
        for node_id in [node_id for node_id in self._progress if node_id not in ids]:
            del self._progress[node_id]
        self._recount_members()
        if self._lead_transferee is not None and self._lead_transferee not in self._configs.voters:
            self._lead_transferee = None
        self._check_read_round()
        if self._maybe_commit():
            self._on_commit_advanced()

    def _maybe_promote_learners(self) -> None:
        """A learner holding everything committed becomes a voter; the leader proposes it itself."""
        if self._pending_conf_index > self.log.committed or self._lead_transferee is not None:
            return
        committed = self.log.committed
        for node_id in sorted(self.membership.learners):
            progress = self._progress.get(node_id)
            if progress is not None and progress.match >= committed:
                # Record the data dir it answers from: only that one's votes and acks count from now on.
                change = ConfChange(ConfChangeKind.PROMOTE, node_id, incarnation=progress.incarnation)
                self._append_conf_change(change)
                return
