"""Elections (Raft §5.2, pre-vote thesis §9.6): the election timer, campaigns, casting and counting votes.

A mixin of RaftNode (raft/core.py), which holds the state these methods use.
"""

from __future__ import annotations

from raft import quorum
from raft.messages import Message, RequestVote, RequestVoteResponse
from raft.role import Role


class ElectionMixin:
    def _tick_election(self) -> None:
        """Follower and (pre-)candidate: campaign once the leader is silent for the randomized timeout."""
        self._election_elapsed += 1
        if self._election_elapsed >= self._randomized_timeout and self._promotable():
            self._campaign(pre_vote=self.config.pre_vote, transfer=False)

    def _campaign(self, pre_vote: bool, transfer: bool) -> None:
        if pre_vote:
            self._become_pre_candidate()
            vote_term = self.term + 1
            send = self._send  # nothing of ours changed: pre-votes may leave at once
        else:
            self._become_candidate()
            vote_term = self.term
            send = self._send_persisted  # our new term and self-vote must be durable first
        self._votes[self.node_id] = True
        if self._tally_votes():
            return
        last_index, last_term = self.log.last_index(), self.log.last_term()
        for voter in sorted(self._configs.voters):
            if voter != self.node_id:
                send(
                    RequestVote(
                        self.node_id,
                        voter,
                        vote_term,
                        last_index,
                        last_term,
                        pre_vote,
                        transfer,
                        self.config.incarnation,
                    )
                )

    def _tally_votes(self) -> bool:
        """Act on the votes so far; True if the campaign is decided."""
        result = quorum.vote_result(self._configs.voters, self._votes)
        if result is quorum.VoteResult.WON:
            if self.role is Role.PRE_CANDIDATE:
                self._campaign(pre_vote=False, transfer=False)
            else:
                self._become_leader()
            return True
        if result is quorum.VoteResult.LOST:
            self._become_follower(self.term, None)
            return True
        return False

    def _on_request_vote(self, message: RequestVote) -> None:
        can_vote = (
            self.vote == message.sender
            or (self.vote is None and self.leader_id is None)
            or (message.pre_vote and message.term > self.term)
        )
        incarnation = self.config.incarnation
        if can_vote and self._may_vote() and self.log.is_up_to_date(message.last_index, message.last_term):
            self._send_persisted(
                RequestVoteResponse(
                    self.node_id, message.sender, message.term, True, message.pre_vote, incarnation
                )
            )
            if not message.pre_vote:
                self.vote = message.sender
                self._election_elapsed = 0
        else:
            self._send_persisted(
                RequestVoteResponse(
                    self.node_id, message.sender, self.term, False, message.pre_vote, incarnation
                )
            )

    def _on_vote_response(self, message: RequestVoteResponse) -> None:
        if message.pre_vote != (self.role is Role.PRE_CANDIDATE):
            return  # an answer to an earlier campaign of the other kind
        if message.pre_vote and message.granted and message.term != self.term + 1:
            return
        self._votes.setdefault(message.sender, message.granted)
        self._tally_votes()

    def _candidate_hears_leader(self, message: Message) -> None:
        """A leader of our term exists: stand down and let the follower handle its message."""
        self._become_follower(self.term, message.sender)
        self._handlers[type(message)](message)
