"""The follower's side of replication: AppendEntries (Raft §5.3), heartbeats and InstallSnapshot (Raft §7).

Acks that vouch for appended entries or an installed snapshot go out only once those are durable.
A mixin of RaftNode (raft/core.py), which holds the state these methods use.
"""

from __future__ import annotations

from operator import attrgetter

from raft.messages import (
    AppendEntries,
    AppendEntriesResponse,
    Heartbeat,
    HeartbeatResponse,
    InstallSnapshot,
    InstallSnapshotResponse,
)
from raft.types import EntryKind

_kind = attrgetter("kind")
_CONF_CHANGE = EntryKind.CONF_CHANGE


class FollowerMixin:
    def _hear_from_leader(self, leader_id: str) -> bool:
        """False if a second leader claims our term (impossible unless a peer is broken): drop its message."""
        if self.leader_id is None:
            self.leader_id = leader_id
        elif self.leader_id != leader_id:
            return False
        self._election_elapsed = 0
        return True

    def _on_append_entries(self, message: AppendEntries) -> None:
        if not self._hear_from_leader(message.sender):
            return
        entries = message.entries
        prev_index = message.prev_index
        if entries and (entries[0].index != prev_index + 1 or entries[-1].index != prev_index + len(entries)):
            return  # malformed
        log = self.log
        if prev_index < log.committed:
            # Everything up to our commit matches the leader already; tell it where we are.
            self._send_persisted(
                AppendEntriesResponse(
                    self.node_id,
                    message.sender,
                    self.term,
                    log.committed,
                    incarnation=self.config.incarnation,
                )
            )
            return
        result = log.maybe_append(prev_index, message.prev_term, entries)
        if result is None:
            hint_index, hint_term = log.find_conflict_by_term(prev_index, message.prev_term)
            self._send_persisted(
                AppendEntriesResponse(
                    self.node_id,
                    message.sender,
                    self.term,
                    prev_index,
                    True,
                    hint_index,
                    hint_term,
                    self.config.incarnation,
                )
            )
            return
        last_new, truncated_from = result
        if truncated_from:
            self._configs.truncate_from(truncated_from)
        if entries and _CONF_CHANGE in map(_kind, entries):  # C-level scan: no Python call per entry
            for entry in entries:
                if entry.kind is _CONF_CHANGE and entry.index > self._configs.last_index:
                    self._append_config(entry)
        log.commit_to(min(message.commit, last_new))
        self._send_persisted(
            AppendEntriesResponse(
                self.node_id, message.sender, self.term, last_new, incarnation=self.config.incarnation
            )
        )

    def _on_heartbeat(self, message: Heartbeat) -> None:
        if not self._hear_from_leader(message.sender):
            return
        self.log.commit_to(min(message.commit, self.log.last_index()))
        self._send(
            HeartbeatResponse(
                self.node_id, message.sender, self.term, message.read_round, self.config.incarnation
            )
        )

    def _on_install_snapshot(self, message: InstallSnapshot) -> None:
        if not self._hear_from_leader(message.sender):
            return
        log = self.log
        if message.index <= log.committed:
            self._send_persisted(
                InstallSnapshotResponse(
                    self.node_id, message.sender, self.term, log.committed, 0, True, self.config.incarnation
                )
            )
            return
        snapshot = self._snapshot_assembler.accept(message)
        if snapshot is None:
            offset = self._snapshot_assembler.expected_offset(message)
            self._send(
                InstallSnapshotResponse(
                    self.node_id,
                    message.sender,
                    self.term,
                    message.index,
                    offset,
                    False,
                    self.config.incarnation,
                )
            )
            return
        if log.term(snapshot.index) == snapshot.term:
            log.commit_to(snapshot.index)  # we hold that entry: the log after it is still good (etcd does so)
        else:
            log.restore(snapshot)
            self._configs.reset(snapshot.membership, snapshot.index)
            self._last_snapshot = snapshot
        self._send_persisted(
            InstallSnapshotResponse(
                self.node_id,
                message.sender,
                self.term,
                snapshot.index,
                len(snapshot.data),
                True,
                self.config.incarnation,
            )
        )
