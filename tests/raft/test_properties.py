"""Hypothesis properties of the quorum math, the log, and step() on arbitrary input."""

from __future__ import annotations

import contextlib
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from raft import quorum
from raft.core import RaftConfig, RaftNode, Role
from raft.errors import RaftError
from raft.log import RaftLog
from raft.messages import Message, RequestVoteResponse
from raft.types import Entry
from tests.raft.sim import cluster_state, first_incarnation
from tests.raft.strategies import messages

# --- quorum ---------------------------------------------------------------------------------------------

match_lists = st.lists(st.integers(0, 50), min_size=1, max_size=9)


@given(match_lists)
def test_committed_index_is_the_highest_index_a_majority_holds(matches: list[int]) -> None:
    committed = quorum.committed_index(matches)
    majority = len(matches) // 2 + 1
    assert sum(1 for match in matches if match >= committed) >= majority
    assert all(sum(1 for match in matches if match >= index) < majority for index in range(committed + 1, 52))


def test_no_voters_commit_nothing_and_have_no_quorum() -> None:
    assert quorum.committed_index([]) == 0
    assert not quorum.has_quorum(set(), {"n1"})


@given(
    st.dictionaries(st.sampled_from("abcdefg"), st.booleans()),
    st.sets(st.sampled_from("abcdefg"), min_size=1),
)
def test_vote_result_agrees_with_counting(votes: dict[str, bool], voters: set[str]) -> None:
    granted = sum(1 for voter in voters if votes.get(voter) is True)
    rejected = sum(1 for voter in voters if votes.get(voter) is False)
    result = quorum.vote_result(voters, votes)
    majority = len(voters) // 2 + 1
    if granted >= majority:
        assert result is quorum.VoteResult.WON
    elif rejected > len(voters) - majority:
        assert result is quorum.VoteResult.LOST
    else:
        assert result is quorum.VoteResult.PENDING
    assert quorum.has_quorum(voters, {v for v in voters if votes.get(v)}) == (granted >= majority)


# --- the log --------------------------------------------------------------------------------------------

term_lists = st.lists(st.integers(1, 6), max_size=20).map(sorted)


def make_log(terms: list[int]) -> RaftLog:
    return RaftLog(
        0, 0, [Entry(term, index, data=b"%d@%d" % (index, term)) for index, term in enumerate(terms, 1)]
    )


def terms(log: RaftLog) -> list[int]:
    return [entry.term for entry in log.entries]


@st.composite
def leader_and_follower(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    """Two logs obeying Log Matching: a shared prefix, then each goes its own way with distinct terms."""
    common = draw(term_lists)
    top = common[-1] if common else 1
    leader = common + sorted(draw(st.lists(st.integers(top + 1, top + 4), max_size=8)))
    follower = common + sorted(draw(st.lists(st.integers(top + 5, top + 8), max_size=8)))
    return leader, follower


@settings(max_examples=200, deadline=None)
@given(leader_and_follower(), st.data())
def test_an_accepted_append_makes_the_follower_match_the_leader(
    logs: tuple[list[int], list[int]], data: st.DataObject
) -> None:
    leader_terms, follower_terms = logs
    leader, follower = make_log(leader_terms), make_log(follower_terms)
    prev_index = data.draw(st.integers(0, leader.last_index()))
    count = data.draw(st.integers(0, leader.last_index() - prev_index))
    entries = leader.slice(prev_index + 1, prev_index + count + 1)
    before = terms(follower)
    result = follower.maybe_append(prev_index, leader.term(prev_index), entries)
    if follower.term(prev_index) != leader.term(prev_index) or result is None:
        assert result is None and terms(follower) == before
        return
    last_new, truncated_from = result
    assert last_new == prev_index + count
    assert terms(follower)[:last_new] == leader_terms[:last_new]
    if not truncated_from:
        assert terms(follower)[last_new:] == before[last_new:]  # nothing newer was cut off
    again = follower.maybe_append(prev_index, leader.term(prev_index), entries)
    assert again == (last_new, 0)  # a duplicate changes nothing


@settings(max_examples=200, deadline=None)
@given(term_lists, st.integers(0, 25), st.integers(0, 8))
def test_find_conflict_by_term_skips_every_entry_above_the_term(
    log_terms: list[int], index: int, term: int
) -> None:
    log = make_log(log_terms)
    found_index, found_term = log.find_conflict_by_term(index, term)
    assert found_index <= min(index, log.last_index())
    assert found_term == (log.term(found_index) or 0) and found_term <= term
    assert all(log.term(i) > term for i in range(found_index + 1, min(index, log.last_index()) + 1))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.binary(max_size=40), min_size=1, max_size=30),
    st.integers(1, 10),
    st.integers(1, 120),
    st.data(),
)
def test_batches_respect_count_and_bytes_but_carry_at_least_one_entry(
    payloads: list[bytes], max_count: int, max_bytes: int, data: st.DataObject
) -> None:
    log = RaftLog(3, 1, [Entry(1, 4 + k, data=payload) for k, payload in enumerate(payloads)])
    low = data.draw(st.integers(4, log.last_index()))
    batch = log.batch(low, max_count, max_bytes)
    assert batch == log.slice(low, low + len(batch))
    assert 1 <= len(batch) <= max_count
    assert len(batch) == 1 or sum(len(entry.data) for entry in batch) <= max_bytes
    following = log.slice(low + len(batch), low + len(batch) + 1)
    if len(batch) < max_count and following:  # stopped early: the next entry would break the byte limit
        assert sum(len(entry.data) for entry in [*batch, *following]) > max_bytes


@settings(max_examples=100, deadline=None)
@given(term_lists.filter(bool), st.data())
def test_stable_index_only_covers_entries_that_still_match(log_terms: list[int], data: st.DataObject) -> None:
    log = make_log(log_terms)
    log.stable_index, log.persist_from = 0, 1
    handed_out = log.unstable_entries()
    log.persist_from = log.last_index() + 1
    cut = data.draw(st.integers(1, log.last_index()))
    log.committed = 0
    log.maybe_append(cut - 1, log.term(cut - 1), [Entry(99, cut, data=b"new")])
    log.stable_to(handed_out)
    assert log.stable_index == cut - 1 and log.persist_from == cut


# --- step() never raises --------------------------------------------------------------------------------

IDS = ["n1", "n2", "n3"]


def node_in_role(role: Role) -> RaftNode:
    node = RaftNode(
        RaftConfig("n1", election_ticks=4, heartbeat_ticks=1, incarnation=first_incarnation("n1")),
        cluster_state(IDS),
        random.Random(0),
    )
    if role is Role.LEADER:
        node.campaign()
        node.advance(node.ready())
        for voter in ("n2", "n3"):
            node.step(_grant(voter, node.term + (1 if node.role is Role.PRE_CANDIDATE else 0), node.role))
        assert node.role is Role.LEADER
    elif role is Role.CANDIDATE:
        node.campaign()
        node.step(_grant("n2", node.term + 1, node.role))
    elif role is Role.PRE_CANDIDATE:
        node.campaign()
    return node


def _grant(voter: str, term: int, role: Role) -> Message:
    return RequestVoteResponse(voter, "n1", term, True, role is Role.PRE_CANDIDATE, first_incarnation(voter))


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(list(Role)),
    st.lists(
        messages(st.integers(0, 6)).map(
            lambda message: message.__class__(message.sender, "n1", *_rest(message))
        )
        | st.sampled_from(["tick", "ready", "propose", "read"]),
        max_size=40,
    ),
)
def test_step_never_raises_whatever_arrives(role: Role, inputs: list[object]) -> None:
    node = node_in_role(role)
    for item in inputs:
        if item == "tick":
            node.tick()
        elif item == "ready":
            node.advance(node.ready())
        elif item == "propose":
            with contextlib.suppress(RaftError):
                node.propose(b"p")
        elif item == "read":
            with contextlib.suppress(RaftError):
                node.read_index(b"r")
        else:
            node.step(item)  # type: ignore[arg-type]
        log = node.log
        assert log.applied <= log.applying <= log.committed <= log.last_index()


def _rest(message: Message) -> list[object]:
    fields = message.__slots__  # type: ignore[attr-defined]
    return [getattr(message, name) for name in fields[2:]]
