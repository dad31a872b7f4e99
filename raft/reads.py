"""Linearizable reads by ReadIndex (thesis §6.4): the leader confirms its leadership with a heartbeat round,
then answers every read that waited for that round with the commit index at its start.

A mixin of RaftNode (raft/core.py), which holds the state these methods use; the queue of rounds is in
raft/readindex.py.
"""

from __future__ import annotations

from raft import quorum
from raft.messages import Heartbeat, ReadIndexRequest, ReadIndexResponse
from raft.readindex import ReadRound
from raft.ready import ReadState


class ReadIndexMixin:
    def _on_read_index_request(self, message: ReadIndexRequest) -> None:
        self._reads.add(message.sender, message.ctx)
        self._maybe_start_read_round()

    def _maybe_start_read_round(self) -> None:
        # Until an entry of our term commits we may not know the latest commit index (thesis §6.4 step 1).
        if self.log.term(self.log.committed) != self.term:
            return
        read_round = self._reads.start(self.log.committed)
        if read_round is None:
            return
        if self._check_read_round():
            return
        commit = self.log.committed
        for node_id, progress in self._progress.items():
            self._send(
                Heartbeat(self.node_id, node_id, self.term, min(progress.match, commit), read_round.round_id)
            )

    def _check_read_round(self) -> bool:
        """Release the round in flight once a quorum confirmed our leadership after it started."""
        read_round = self._reads.in_flight
        if read_round is None:
            return False
        round_id = read_round.round_id
        confirmed = {node_id for node_id, progress in self._progress.items() if progress.read_ack >= round_id}
        confirmed -= self._uncounted
        confirmed.add(self.node_id)
        if not quorum.has_quorum(self._configs.voters, confirmed):
            return False
        self._release_reads(self._reads.finish())
        self._maybe_start_read_round()
        return True

    def _release_reads(self, read_round: ReadRound) -> None:
        for origin, ctx in read_round.requests:
            if origin is None:
                self._read_states.append(ReadState(read_round.index, ctx))
            else:
                self._send(ReadIndexResponse(self.node_id, origin, self.term, read_round.index, ctx))

    def _on_read_index_response(self, message: ReadIndexResponse) -> None:
        """A follower's read, answered by the leader: serve it once applied up to the index."""
        self._read_states.append(ReadState(message.index, message.ctx))
