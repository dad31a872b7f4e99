"""Leadership transfer (thesis §3.10): the leader brings the chosen voter up to date and then tells it to
campaign at once (TimeoutNow); meanwhile proposals are refused. A transfer not done within an election
timeout is abandoned (see ReplicationMixin._tick_heartbeat).

A mixin of RaftNode (raft/core.py), which holds the state these methods use.
"""

from __future__ import annotations

from raft.messages import TimeoutNow


class TransferMixin:
    def _start_transfer(self, to: str) -> None:
        """Bring `to` up to date; once it acks our last entry, _on_append_response sends it TimeoutNow."""
        if to == self.node_id or to == self._lead_transferee:
            return
        self._lead_transferee = to
        self._election_elapsed = 0  # the transfer is abandoned after an election timeout
        progress = self._progress[to]
        if progress.match == self.log.last_index():
            self._send(TimeoutNow(self.node_id, to, self.term))
        else:
            self._send_append(to, progress, send_if_empty=True)

    def _on_timeout_now(self, message: TimeoutNow) -> None:
        if self._promotable():
            self._campaign(pre_vote=False, transfer=True)  # the leader asked: skip pre-vote
