"""Whole nodes in one event loop (real core, storage, transport, HTTP server), driven through the bridge."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
import zmq

from actors.node import Node, NodeOptions
from farm.commands import CreatePrinter
from farm.queries import ListPrinters
from farm.results import Ok, Rejected
from httpapi.bridge import NoLeader
from raft.storage import DiskFailure
from tests.support.cluster import free_ports
from tests.support.seed import PRINTER_WORKFLOW


def options(tmp_path: Path, node_id: str, **kwargs: Any) -> NodeOptions:
    http_port, raft_port = free_ports(2)
    return NodeOptions(
        node_id=node_id,
        raft_addr=f"127.0.0.1:{raft_port}",
        data_dir=str(tmp_path / node_id),
        http_port=http_port,
        tick_ms=10,
        **kwargs,
    )


async def until(condition: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def printers(outcome: Any) -> list[str]:
    assert isinstance(outcome, Ok), outcome
    return [item["id"] for item in outcome.value.items]


async def three_nodes(tmp_path: Path) -> list[Node]:
    nodes = [Node(options(tmp_path, f"n{i}", bootstrap=i == 1)) for i in (1, 2, 3)]
    for node in nodes:
        await node.start()
    await until(lambda: nodes[0].bridge.raft_state() == "Leader")
    for node in nodes[1:]:
        assert isinstance(await nodes[0].bridge.join(node.node_id, node.options.raft_addr), Ok)
    await until(lambda: all(len(n.raft.node.membership.voters) == 3 for n in nodes))
    return nodes


def test_a_node_that_belongs_to_no_cluster_answers_no_leader_in_time(tmp_path: Path) -> None:
    async def scenario() -> None:
        node = Node(options(tmp_path, "lonely", request_timeout=0.3))
        await node.start()
        try:
            assert node.bridge.raft_state() == "Follower"
            assert not node.bridge.is_ready()
            with pytest.raises(NoLeader):
                await node.bridge.write(CreatePrinter("p1", "HP", "L12"))
            with pytest.raises(NoLeader):
                await node.bridge.read(ListPrinters())
            assert printers(await node.bridge.read(ListPrinters(), "stale")) == []
        finally:
            await node.shutdown()

    run(scenario())


def test_bootstrap_on_a_bootstrapped_dir_keeps_the_cluster(tmp_path: Path, caplog: Any) -> None:
    async def scenario() -> None:
        opts = options(tmp_path, "n1", bootstrap=True)
        first = Node(opts)
        await first.start()
        await until(lambda: first.bridge.raft_state() == "Leader")
        await first.bridge.write(CreatePrinter("p1", "HP", "L12"))
        cluster_id = first.storage.cluster_id
        await first.shutdown()
        second = Node(opts)
        with caplog.at_level(logging.INFO):
            await second.start()
        try:
            assert second.storage.cluster_id == cluster_id
            assert "already bootstrapped" in caplog.text
            await until(lambda: second.bridge.raft_state() == "Leader")
            assert printers(await second.bridge.read(ListPrinters())) == ["p1"]
        finally:
            await second.shutdown()

    run(scenario())


def test_a_disk_failure_stops_the_node_loudly_with_a_nonzero_exit(tmp_path: Path, caplog: Any) -> None:
    async def scenario() -> None:
        node = Node(options(tmp_path, "n1", bootstrap=True, request_timeout=1.0))
        await node.start()
        await until(lambda: node.bridge.raft_state() == "Leader")

        async def broken(*_args: Any) -> None:
            raise DiskFailure("no space left on device")

        def broken_nowait(*_args: Any) -> asyncio.Future[None]:
            failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            failed.set_exception(DiskFailure("no space left on device"))
            return failed

        node.storage.save = broken
        node.storage.save_nowait = broken_nowait  # what the pipelined Ready loop calls
        with caplog.at_level(logging.CRITICAL):
            with pytest.raises(Exception):  # noqa: B017 - whatever the bridge says, the node must stop
                await node.bridge.write(CreatePrinter("p1", "HP", "L12"))
            await until(lambda: node._stop.is_set())
        assert node.exit_code == 1
        assert "n1.raft crashed (DiskFailure: no space left on device); stopping the node" in caplog.text
        await node.shutdown()

    run(scenario())


def test_followers_forward_writes_once_per_key_and_serve_events(tmp_path: Path) -> None:
    async def scenario() -> None:
        nodes = await three_nodes(tmp_path)
        try:
            leader = next(n for n in nodes if n.bridge.raft_state() == "Leader")
            follower = next(n for n in nodes if n is not leader)
            stream = await follower.bridge.open_events(follower.state_machine.applied_index)
            first = await follower.bridge.write(CreatePrinter("p1", "HP", "L12"), "key-1")
            again = await follower.bridge.write(CreatePrinter("p1", "HP", "L12"), "key-1")
            assert first == again == Ok({"id": "p1", "company": "HP", "model": "L12", **PRINTER_WORKFLOW})
            refused = await follower.bridge.write(CreatePrinter("p1", "HP", "L12"), "key-2")
            assert isinstance(refused, Rejected) and refused.code == "already_exists"
            frame = (await stream.read(5)).decode()
            assert frame.startswith("event: printer.created\n") and '"id":"p1"' in frame
            stream.close()
            for node in nodes:
                assert printers(await node.bridge.read(ListPrinters())) == ["p1"]
            assert follower.metrics.forwarded._value.get() >= 3
        finally:
            for node in nodes:
                await node.shutdown()

    run(scenario())


def test_transfer_and_remove_through_a_follower(tmp_path: Path) -> None:
    async def scenario() -> None:
        nodes = await three_nodes(tmp_path)
        try:
            leader = next(n for n in nodes if n.bridge.raft_state() == "Leader")
            others = [n for n in nodes if n is not leader]
            target, asker = others
            assert await asker.bridge.transfer_leadership(target.node_id) == Ok(None)
            await until(lambda: target.bridge.raft_state() == "Leader")
            removed = await asker.bridge.remove_member(leader.node_id)
            assert removed == Ok(None)
            await until(lambda: leader.node_id not in target.raft.node.membership.ids)
            missing = await asker.bridge.remove_member("nobody")
            assert isinstance(missing, Rejected) and missing.code == "not_found"
            assert isinstance(await asker.bridge.write(CreatePrinter("p2", "HP", "L12")), Ok)
        finally:
            for node in nodes:
                await node.shutdown()

    run(scenario())


def test_garbage_on_the_raft_port_is_dropped_counted_and_harmless(tmp_path: Path) -> None:
    async def scenario() -> None:
        node = Node(options(tmp_path, "n1", bootstrap=True))
        await node.start()
        raw = zmq.Context.instance().socket(zmq.DEALER)
        raw.setsockopt(zmq.LINGER, 0)
        raw.setsockopt(zmq.IDENTITY, b"intruder")
        raw.connect(f"tcp://{node.options.raft_addr}")
        try:
            await until(lambda: node.bridge.raft_state() == "Leader")
            raw.send(b"\x00 not msgpack")  # queued by the DEALER until its connection is up
            await until(lambda: node.transport.stats.dropped_malformed > 0)
            body, content_type = node.bridge.metrics()
            assert content_type.startswith("text/plain")
            assert 'printfarm_peer_frames_dropped{node_id="n1",reason="malformed"}' in body.decode()
            assert isinstance(await node.bridge.write(CreatePrinter("p1", "HP", "L12")), Ok)
        finally:
            raw.close()
            await node.shutdown()

    run(scenario())


def test_writes_in_flight_when_the_leader_dies_apply_exactly_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        nodes = await three_nodes(tmp_path)
        leader = next(n for n in nodes if n.bridge.raft_state() == "Leader")
        asker, other = (n for n in nodes if n is not leader)
        try:
            writes = [
                asyncio.ensure_future(asker.bridge.write(CreatePrinter(f"p{number}", "HP", "L12")))
                for number in range(40)
            ]
            await asyncio.sleep(0.005)
            await leader.transport.stop()  # cut off mid-stream: some proposals are in its log only
            await leader.shutdown()
            outcomes = await asyncio.gather(*writes)
            # a retried write whose first attempt did apply sees its own first outcome, never already_exists
            assert all(isinstance(outcome, Ok) for outcome in outcomes), outcomes
            expected = sorted(f"p{number}" for number in range(40))
            assert sorted(printers(await asker.bridge.read(ListPrinters()))) == expected
            assert sorted(printers(await other.bridge.read(ListPrinters()))) == expected
        finally:
            for node in (asker, other):
                await node.shutdown()

    run(scenario())
