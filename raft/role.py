"""Role: what a RaftNode currently is; each role has its own tick function and message handlers."""

from __future__ import annotations

import enum


class Role(enum.Enum):
    FOLLOWER = "Follower"
    PRE_CANDIDATE = "PreCandidate"
    CANDIDATE = "Candidate"
    LEADER = "Leader"

    @property
    def label(self) -> str:
        """The role as the API shows it: a pre-candidate has not left its term, so it is still a Follower."""
        return "Follower" if self is Role.PRE_CANDIDATE else self.value
