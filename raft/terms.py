"""How RaftNode.step treats a message from another term (Raft §5.1), with the exceptions that pre-vote
(thesis §9.6) and leader leases under check-quorum (thesis §4.2.3) make.

A mixin of RaftNode (raft/core.py), which holds the state these methods use.
"""

from __future__ import annotations

from raft.messages import (
    AppendEntries,
    AppendEntriesResponse,
    Heartbeat,
    InstallSnapshot,
    Message,
    RequestVote,
    RequestVoteResponse,
)

_LEADER_MESSAGES = (AppendEntries, Heartbeat, InstallSnapshot)


class TermRulesMixin:
    def _accept_higher_term(self, message: Message) -> bool:
        """A message from a later term: adopt the term unless it is a (pre-)vote we should not heed."""
        if isinstance(message, RequestVote):
            in_lease = (
                self.config.check_quorum
                and self.leader_id is not None
                and self._election_elapsed < self.config.election_ticks
            )
            if in_lease and not message.transfer:
                return False  # we hear from a live leader: a disruptive (pre-)candidate is ignored
            if message.pre_vote:
                return True  # a pre-vote never changes our term
        elif isinstance(message, RequestVoteResponse) and message.pre_vote and message.granted:
            return True  # granted pre-votes carry the term we would campaign at
        leader = message.sender if isinstance(message, _LEADER_MESSAGES) else None
        self._become_follower(message.term, leader)
        return True

    def _answer_stale_term(self, message: Message) -> None:
        if isinstance(message, (AppendEntries, Heartbeat)):
            if self.config.check_quorum or self.config.pre_vote:
                # A deposed leader cut off by partition learns our term and steps down (etcd does the same).
                self._send_persisted(
                    AppendEntriesResponse(
                        self.node_id, message.sender, self.term, 0, incarnation=self.config.incarnation
                    )
                )
        elif isinstance(message, RequestVote) and message.pre_vote:
            self._send_persisted(
                RequestVoteResponse(
                    self.node_id, message.sender, self.term, False, True, self.config.incarnation
                )
            )
