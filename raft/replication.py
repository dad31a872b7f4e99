"""The leader's side of log replication (Raft §5.3): sending AppendEntries (probe, then pipelined within the
in-flight window), handling the answers, advancing the commit index, heartbeats and check-quorum.

A mixin of RaftNode (raft/core.py), which holds the state these methods use.
"""

from __future__ import annotations

from raft import quorum
from raft.messages import AppendEntries, AppendEntriesResponse, Heartbeat, HeartbeatResponse, TimeoutNow
from raft.progress import Progress, ProgressState
from raft.role import Role


class ReplicationMixin:
    # --- sending ---------------------------------------------------------------------------------------

    def _send_append(self, to: str, progress: Progress, send_if_empty: bool) -> bool:
        """Send what `to` needs next, if its state allows; True if a message went out."""
        if progress.is_paused():
            return False
        log = self.log
        prev_index = progress.next - 1
        prev_term = log.term(prev_index)
        if prev_term is None:
            self._start_snapshot(to, progress)
            return True
        if prev_index < log.snapshot_index + len(log.entries):
            entries = log.batch(progress.next, self.config.max_append_entries, self.config.max_append_bytes)
        elif send_if_empty:
            entries = []
        else:
            return False
        self._msgs.append(
            AppendEntries(self.node_id, to, self.term, prev_index, prev_term, tuple(entries), log.committed)
        )
        progress.sent_entries(entries[-1].index if entries else prev_index)
        return True

    def _flush_replication(self) -> None:
        """Offer new entries and the new commit index to followers: once per Ready, so proposals batch up."""
        if self.role is not Role.LEADER or not (self._replicate_pending or self._commit_pending):
            return
        tell_commit = self._commit_pending
        self._replicate_pending = self._commit_pending = False
        for node_id, progress in self._progress.items():
            sent = False
            while self._send_append(node_id, progress, send_if_empty=False):
                sent = True
                if progress.state is not ProgressState.REPLICATE:
                    break
            if tell_commit and not sent:
                self._send_append(node_id, progress, send_if_empty=True)

    # --- answers ---------------------------------------------------------------------------------------

    def _on_append_response(self, message: AppendEntriesResponse) -> None:
        progress = self._progress.get(message.sender)
        if progress is None:
            return
        progress.recent_active = True
        if message.reject:
            self._on_append_rejected(message, progress)
            return
        if message.index > self.log.last_index():
            return  # claims entries we never sent: not from a correct follower
        was_paused = progress.is_paused()
        probe_answered = progress.state is ProgressState.PROBE and progress.match == message.index
        if not progress.maybe_update(message.index) and not probe_answered:
            return  # old news
        if progress.state is ProgressState.PROBE:
            progress.become_replicate()
        elif progress.state is ProgressState.REPLICATE:
            progress.inflights.free_to(message.index)
        elif progress.snapshot is not None and progress.match >= progress.snapshot.index:
            progress.become_probe()
        committed = self._maybe_commit()
        if committed:
            self._on_commit_advanced()
            if self.role is not Role.LEADER:
                return  # our own removal committed
        if message.sender == self._lead_transferee and progress.match == self.log.last_index():
            self._send(TimeoutNow(self.node_id, message.sender, self.term))
        elif message.sender in self._configs.learners:
            self._maybe_promote_learners()
        if was_paused:
            sent = False
            while self._send_append(message.sender, progress, send_if_empty=False):
                sent = True
            if not sent and not committed:
                # It was paused, so it may have missed the latest commit index (etcd does the same).
                self._send_append(message.sender, progress, send_if_empty=True)

    def _on_append_rejected(self, message: AppendEntriesResponse, progress: Progress) -> None:
        if progress.state is ProgressState.SNAPSHOT:
            return  # an answer to an AppendEntries sent before the snapshot
        next_probe = message.hint_index
        if message.hint_term > 0:
            # Skip every entry of ours whose term is above the follower's hint term (fast back-off).
            next_probe, _ = self.log.find_conflict_by_term(message.hint_index, message.hint_term)
        if progress.maybe_decrease_to(message.index, next_probe):
            if progress.state is ProgressState.REPLICATE:
                progress.become_probe()
            self._send_append(message.sender, progress, send_if_empty=True)

    def _on_heartbeat_response(self, message: HeartbeatResponse) -> None:
        progress = self._progress.get(message.sender)
        if progress is None:
            return
        progress.recent_active = True
        progress.probe_sent = False
        if progress.state is ProgressState.SNAPSHOT:
            self._send_snapshot_chunk(message.sender, progress)  # retry a chunk that may have been lost
        else:
            if progress.state is ProgressState.REPLICATE and progress.inflights.full():
                progress.inflights.free_first()  # unblock a window whose acks were lost
            if progress.match < self.log.last_index():
                self._send_append(message.sender, progress, send_if_empty=True)
        if message.read_round > progress.read_ack:
            progress.read_ack = message.read_round
            self._check_read_round()

    # --- commit ----------------------------------------------------------------------------------------

    def _maybe_commit(self) -> bool:
        """Raft §5.3/§5.4.2: commit the quorum-replicated index, but only an entry of our own term.

        The leader counts itself only up to its durable index (thesis §10.2.1).
        """
        log = self.log
        progress = self._progress
        me = self.node_id
        if self._uncounted:  # members answering for a wiped data dir count as holding nothing
            uncounted = self._uncounted
            matches = [
                log.stable_index if voter == me else 0 if voter in uncounted else progress[voter].match
                for voter in self._configs.voters
            ]
        else:
            matches = [
                log.stable_index if voter == me else progress[voter].match for voter in self._configs.voters
            ]
        index = quorum.committed_index(matches)
        if index > log.committed and log.term(index) == self.term:
            log.committed = index
            return True
        return False

    def _on_commit_advanced(self) -> None:
        self._commit_pending = True
        if self.node_id not in self._configs.voters and self._configs.last_index <= self.log.committed:
            # Our own removal is committed: stop leading. Followers learn the commit first.
            self._flush_replication()
            self._become_follower(self.term, None)
            return
        self._maybe_start_read_round()
        self._maybe_promote_learners()

    # --- heartbeats and check-quorum -------------------------------------------------------------------

    def _tick_heartbeat(self) -> None:
        self._ticks_as_leader += 1
        self._election_elapsed += 1
        self._heartbeat_elapsed += 1
        if self._election_elapsed >= self.config.election_ticks:
            self._election_elapsed = 0
            quorum_active = self._quorum_active()  # also starts a new activity round (strict reconfig)
            if self.config.check_quorum and not quorum_active:
                self._become_follower(self.term, None)  # check-quorum: we may be the minority side
                return
            self._lead_transferee = None  # a transfer not done within an election timeout is abandoned
        if self._heartbeat_elapsed >= self.config.heartbeat_ticks:
            self._heartbeat_elapsed = 0
            self._broadcast_heartbeat()

    def _broadcast_heartbeat(self) -> None:
        commit = self.log.committed
        round_id = self._reads.last_round_id
        for node_id, progress in self._progress.items():
            self._send(Heartbeat(self.node_id, node_id, self.term, min(progress.match, commit), round_id))

    def _recently_heard(self) -> set[str]:
        """Ourselves and the members we heard from within the last one or two election timeouts."""
        heard = {node_id for node_id, progress in self._progress.items() if progress.recently_heard()}
        heard -= self._uncounted
        heard.add(self.node_id)
        return heard

    def _quorum_active(self) -> bool:
        active = {node_id for node_id, progress in self._progress.items() if progress.recent_active}
        active -= self._uncounted
        active.add(self.node_id)
        for progress in self._progress.values():
            progress.active_before = progress.recent_active
            progress.recent_active = False
        return quorum.has_quorum(self._configs.voters, active)
