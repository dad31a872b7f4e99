"""Role: what a RaftNode currently is; each role has its own tick function and message handlers."""

from __future__ import annotations

import enum


class Role(enum.Enum):
    FOLLOWER = "Follower"
    PRE_CANDIDATE = "PreCandidate"
    CANDIDATE = "Candidate"
    LEADER = "Leader"
