"""Hypothesis strategies for protocol messages."""

from __future__ import annotations

from hypothesis import strategies as st

from raft import messages as m
from raft.types import Entry, EntryKind, Member, Membership

node_ids = st.sampled_from(["n1", "n2", "n3", "n4", ""]) | st.text(max_size=6)
small = st.integers(min_value=0, max_value=12)
counters = small | st.integers(min_value=0, max_value=2**63)
flags = st.booleans()
blobs = st.binary(max_size=24)
incarnations = st.sampled_from(["", "0123456789abcdef", "n1.2"])
memberships = st.lists(st.builds(Member, node_ids, st.text(max_size=8), flags, incarnations), max_size=4).map(
    lambda members: Membership(tuple(members))
)


@st.composite
def append_entries(draw: st.DrawFn, indices: st.SearchStrategy[int] = counters) -> m.AppendEntries:
    """A well-formed AppendEntries: contiguous entries after prev_index, terms between prev_term and term."""
    term = draw(indices)
    prev_term = draw(st.integers(0, term))
    prev_index = draw(indices)
    terms = sorted(draw(st.lists(st.integers(prev_term, term), max_size=5)))
    entries = tuple(
        Entry(entry_term, prev_index + offset, draw(st.sampled_from(EntryKind)), draw(blobs))
        for offset, entry_term in enumerate(terms, 1)
    )
    return m.AppendEntries(
        draw(node_ids), draw(node_ids), term, prev_index, prev_term, entries, draw(indices)
    )


def messages(indices: st.SearchStrategy[int] = counters) -> st.SearchStrategy[m.Message]:
    ids = node_ids
    return st.one_of(
        st.builds(m.RequestVote, ids, ids, indices, indices, indices, flags, flags, incarnations),
        st.builds(m.RequestVoteResponse, ids, ids, indices, flags, flags, incarnations),
        append_entries(indices),
        st.builds(m.AppendEntriesResponse, ids, ids, indices, indices, flags, indices, indices, incarnations),
        st.builds(m.Heartbeat, ids, ids, indices, indices, indices),
        st.builds(m.HeartbeatResponse, ids, ids, indices, indices, incarnations),
        st.builds(m.InstallSnapshot, ids, ids, indices, indices, indices, memberships, indices, blobs, flags),
        st.builds(m.InstallSnapshotResponse, ids, ids, indices, indices, indices, flags, incarnations),
        st.builds(m.TimeoutNow, ids, ids, indices),
        st.builds(m.ReadIndexRequest, ids, ids, indices, blobs),
        st.builds(m.ReadIndexResponse, ids, ids, indices, indices, blobs),
    )
