"""The leader's side of InstallSnapshot (Raft §7): a follower that needs compacted entries gets our newest
snapshot in chunks, one in flight at a time, then goes back to probing.

A mixin of RaftNode (raft/core.py), which holds the state these methods use. The follower's side is in
raft/follower.py and raft/snapshots.py.
"""

from __future__ import annotations

from raft.messages import InstallSnapshot, InstallSnapshotResponse
from raft.progress import Progress, ProgressState
from raft.role import Role


class SnapshotSendingMixin:
    def _start_snapshot(self, to: str, progress: Progress) -> None:
        snapshot = self._last_snapshot
        assert snapshot is not None, "the log was compacted without a snapshot"
        progress.become_snapshot(snapshot)
        self._send_snapshot_chunk(to, progress)

    def _send_snapshot_chunk(self, to: str, progress: Progress) -> None:
        snapshot = progress.snapshot
        assert snapshot is not None
        offset = progress.snapshot_offset
        chunk = snapshot.data[offset : offset + self.config.snapshot_chunk_bytes]
        done = offset + len(chunk) >= len(snapshot.data)
        self._send(
            InstallSnapshot(
                self.node_id,
                to,
                self.term,
                snapshot.index,
                snapshot.term,
                snapshot.membership,
                offset,
                chunk,
                done,
            )
        )

    def _on_snapshot_response(self, message: InstallSnapshotResponse) -> None:
        progress = self._progress.get(message.sender)
        if progress is None:
            return
        progress.recent_active = True
        if message.done:
            self._on_snapshot_installed(message, progress)
        else:
            self._on_snapshot_chunk_received(message, progress)

    def _on_snapshot_installed(self, message: InstallSnapshotResponse, progress: Progress) -> None:
        if message.index > self.log.last_index():
            return  # claims entries we never sent: not from a correct follower
        progress.maybe_update(message.index)
        if progress.state is ProgressState.SNAPSHOT:
            if progress.snapshot is None or progress.match < progress.snapshot.index:
                return  # done with an older snapshot than the one being sent
            progress.become_probe()
        if self._maybe_commit():
            self._on_commit_advanced()
            if self.role is not Role.LEADER:
                return
        self._send_append(message.sender, progress, send_if_empty=True)

    def _on_snapshot_chunk_received(self, message: InstallSnapshotResponse, progress: Progress) -> None:
        snapshot = progress.snapshot
        if (
            progress.state is not ProgressState.SNAPSHOT
            or snapshot is None
            or message.index != snapshot.index
        ):
            return
        if message.offset != progress.snapshot_offset and message.offset <= len(snapshot.data):
            progress.snapshot_offset = message.offset
            self._send_snapshot_chunk(message.sender, progress)
