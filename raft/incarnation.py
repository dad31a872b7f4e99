"""Member incarnations: a wiped data dir never speaks for the member it replaced.

Every data dir gets a random incarnation id when it is created (raft/storage/identity.py); the
configuration records, for each member, the incarnation it had when it was promoted to voter (or
bootstrapped the cluster). A node restarted on a new, empty data dir under a member's id has lost the
entries it acknowledged and the votes it cast: if it voted or its acks counted, a leader lacking
acknowledged writes could be elected, or a write be committed on a minority (Raft assumes stable storage,
§5.1). So, in the pure core:
  - such a node never votes and never campaigns (it knows once it learns the configuration; before that it
    knows no configuration listing it, and a node votes only as a member of the configuration it knows);
  - every vote and every ack carries its sender's incarnation (raft/messages.py); a candidate ignores votes
    and a leader ignores, for commit, check-quorum, reads and strict reconfiguration, any member seen
    speaking with an incarnation other than the recorded one (sticky until the configuration records
    another incarnation for it, which is what removing and re-joining it does);
  - the leader still replicates to it (from scratch: what it had is gone), so it learns the configuration
    and can say what is wrong.
An empty recorded incarnation means "not known": a learner before its promotion, or a configuration written
before incarnations existed; such a member is not protected.

A mixin of RaftNode (raft/core.py), which holds the state these methods use.
"""

from __future__ import annotations

from raft.messages import (
    AppendEntriesResponse,
    HeartbeatResponse,
    InstallSnapshotResponse,
    Message,
    RequestVote,
    RequestVoteResponse,
)
from raft.progress import Progress
from raft.role import Role

CARRIES_INCARNATION = frozenset(
    {RequestVote, RequestVoteResponse, AppendEntriesResponse, HeartbeatResponse, InstallSnapshotResponse}
)


class IncarnationMixin:
    @property
    def superseded(self) -> bool:
        """The configuration we know records another data dir for our id: ours is new (wiped, restored
        from elsewhere, ...), so we must not vote or count until removed and joined again."""
        return self._superseded(self.node_id, self.config.incarnation)

    def _superseded(self, node_id: str, incarnation: str) -> bool:
        member = self._configs.current.get(node_id)
        return member is not None and member.incarnation != "" and member.incarnation != incarnation

    def _may_vote(self) -> bool:
        """Only a member of the configuration we know, speaking for the data dir recorded for it, votes."""
        me = self._configs.current.get(self.node_id)
        return me is not None and me.incarnation in ("", self.config.incarnation)

    def _screen(self, message: Message) -> bool:
        """For a message carrying its sender's incarnation: False if it must be dropped. A leader keeps
        handling a superseded member's answers of its own term (to bring it up to date), uncounted."""
        sender = message.sender
        if self.role is Role.LEADER:
            progress = self._progress.get(sender)
            if progress is None:
                return True
            if message.incarnation != progress.incarnation:  # type: ignore[union-attr]
                self._note_incarnation(sender, progress, message.incarnation)  # type: ignore[union-attr]
            return sender not in self._uncounted or message.term <= self.term
        return not self._superseded(sender, message.incarnation)  # type: ignore[union-attr]

    def _note_incarnation(self, sender: str, progress: Progress, incarnation: str) -> None:
        if progress.incarnation:
            # Another data dir answers for this member now: what the old one acknowledged is gone.
            fresh = Progress(self.log.last_index() + 1, self.config.max_inflight)
            self._progress[sender] = progress = fresh
        progress.incarnation = incarnation
        if self._superseded(sender, incarnation):
            self._uncounted.add(sender)

    def _recount_members(self) -> None:
        """The configuration changed: count again a member whose recorded incarnation is now the one it
        speaks with (re-joined), or that is gone."""
        for node_id in list(self._uncounted):
            member = self._configs.current.get(node_id)
            progress = self._progress.get(node_id)
            if (
                member is None
                or member.incarnation == ""
                or (progress is not None and progress.incarnation == member.incarnation)
            ):
                self._uncounted.discard(node_id)
