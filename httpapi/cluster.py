"""Cluster endpoints: the seed's /join and /raft/state; /raft/status, member removal, leadership transfer."""

from __future__ import annotations

import falcon
import falcon.asgi

from httpapi import validation as v
from httpapi.bridge import Bridge, PendingChange
from httpapi.responses import send_json, send_no_content, value_of


class JoinResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        params = req.params
        node_id = v.query_id(params, "node_id", required=True)
        addr = v.peer_addr(params)
        value_of(await self._bridge.join(node_id, addr))
        send_json(resp, {"node_id": node_id, "addr": addr, "status": "joined"})


class RaftStateResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.data = self._bridge.raft_state().encode()


class RaftStatusResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        status = self._bridge.raft_status()
        send_json(
            resp,
            {
                "node_id": status.node_id,
                "state": status.state,
                "term": status.term,
                "leader_id": status.leader_id,
                "commit_index": status.commit_index,
                "applied_index": status.applied_index,
                "members": [{"node_id": m.node_id, "addr": m.addr, "role": m.role} for m in status.members],
                "pending_change": _pending(status.pending_change),
            },
        )


def _pending(change: PendingChange | None) -> dict[str, object] | None:
    if change is None:
        return None
    return {"index": change.index, "kind": change.kind, "node_id": change.node_id, "addr": change.addr}


class MemberResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_delete(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, node_id: str) -> None:
        v.path_id_exists_or_404(node_id, "member")
        send_no_content(resp, await self._bridge.remove_member(node_id))


class TransferLeadershipResource:
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        to = v.query_id(req.params, "to", required=True)
        value_of(await self._bridge.transfer_leadership(to))
        send_json(resp, {"to": to, "status": "transferred"})
