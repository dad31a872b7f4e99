import pytest

from raft.codec import CodecError, decode_entry, decode_snapshot, encode_entry, encode_snapshot, packb
from raft.types import ConfChange, ConfChangeKind, Entry, Member, Membership, Snapshot


def test_entry_and_snapshot_round_trip() -> None:
    entry = Entry(3, 7, data=b"payload")
    assert decode_entry(encode_entry(entry)) == entry
    snapshot = Snapshot(9, 3, Membership((Member("n1", "127.0.0.1:9001", True),)), b"state")
    assert decode_snapshot(encode_snapshot(snapshot)) == snapshot


@pytest.mark.parametrize("data", [b"\xc1", packb([1, 2]), packb([1, -2, 0, b""]), packb([1, 2, 9, b""])])
def test_malformed_entries_are_rejected_clearly(data: bytes) -> None:
    with pytest.raises(CodecError):
        decode_entry(data)


def test_membership_learner_then_promote_then_remove() -> None:
    config = Membership((Member("n1", "a1", True),))
    config = config.apply(ConfChange(ConfChangeKind.ADD_LEARNER, "n2", "a2"))
    assert config.learners == {"n2"} and config.voters == {"n1"}
    config = config.apply(ConfChange(ConfChangeKind.PROMOTE, "n2"))
    assert config.voters == {"n1", "n2"} and config.get("n2").addr == "a2"
    config = config.apply(ConfChange(ConfChangeKind.REMOVE, "n1"))
    assert config.ids == {"n2"}
