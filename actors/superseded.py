"""What a node says when the configuration records another data dir for its id (raft/incarnation.py)."""

from __future__ import annotations

from typing import Any

from raft.types import Membership


def superseded_warning(options: Any, membership: Membership, incarnation: str) -> str | None:
    """What to tell the operator when the configuration records another data dir for our node id."""
    me = membership.get(options.node_id)
    if me is None or not me.incarnation or me.incarnation == incarnation:
        return None
    return (
        f"{options.node_id}: the cluster's configuration records {options.node_id} with the data dir "
        f"incarnation {me.incarnation}, but this data dir ({options.data_dir}) is incarnation "
        f"{incarnation or 'unknown'}: it was wiped or replaced, so whatever the old one acknowledged is "
        "not here. This node will not vote and its acks do not count toward any quorum; it only "
        f"follows. To bring it back as a voter: DELETE /raft/members/{options.node_id} at any node, then "
        f"POST /join?node_id={options.node_id}&addr={me.addr} (it is then caught up and promoted with "
        "this data dir)."
    )
