"""The leader authorizes forwarded requests with the caller's role the follower sends, by its own tokens;
and refuses writes that may grow the state past --max-state-bytes. Whole nodes in one event loop."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from actors.node import Node
from farm.commands import BootstrapAcl, CreatePrinter, CreateToken, DeletePrinter, RevokeToken
from farm.results import Ok, Rejected
from farm.tokens import hash_secret
from httpapi.bridge import CALLER_ROLE
from tests.actors.test_node import options, run, three_nodes, until

ADMIN = "pf_" + "a" * 43


def code(outcome: object) -> str:
    return "ok" if isinstance(outcome, Ok) else outcome.code  # type: ignore[attr-defined]


def test_a_forwarded_request_is_authorized_again_by_the_leader(tmp_path: Path) -> None:
    async def scenario() -> None:
        nodes = await three_nodes(tmp_path)
        try:
            leader = next(n for n in nodes if n.bridge.raft_state() == "Leader")
            follower, other = (n for n in nodes if n is not leader)
            CALLER_ROLE.set(None)  # an open cluster's caller
            assert code(await follower.bridge.write(CreatePrinter("p0", "HP", "L12"))) == "ok"
            boot = await follower.bridge.write(BootstrapAcl("t1", "root", hash_secret(ADMIN)))
            assert code(boot) == "ok"
            await until(lambda: all(not n.bridge.tokens().open for n in nodes))
            again = await follower.bridge.write(BootstrapAcl("t2", "again", hash_secret("pf_x")))
            assert code(again) == "already_bootstrapped"
            # a follower that let a request through as an open cluster's: the leader knows better
            assert code(await follower.bridge.write(CreatePrinter("p1", "HP", "L12"))) == "unauthenticated"
            CALLER_ROLE.set("viewer")
            assert code(await follower.bridge.write(CreatePrinter("p1", "HP", "L12"))) == "forbidden"
            CALLER_ROLE.set("operator")
            assert code(await follower.bridge.write(CreatePrinter("p1", "HP", "L12"))) == "ok"
            token = CreateToken("t3", "ci", "viewer", hash_secret("pf_" + "c" * 43))
            assert code(await follower.bridge.write(token)) == "forbidden"
            assert code(await follower.bridge.transfer_leadership(other.node_id)) == "forbidden"
            assert code(await follower.bridge.remove_member("nobody")) == "forbidden"
            assert code(await follower.bridge.join(other.node_id, other.options.raft_addr)) == "forbidden"
            CALLER_ROLE.set("admin")
            assert code(await follower.bridge.write(token)) == "ok"
            assert code(await follower.bridge.write(RevokeToken("t1"))) == "last_admin"
            assert code(await follower.bridge.join(other.node_id, other.options.raft_addr)) == "ok"
            CALLER_ROLE.set("node")  # the node's own actors (no HTTP caller) are trusted
            assert code(await follower.bridge.write(CreatePrinter("p2", "HP", "L12"))) == "ok"
            await until(lambda: all(n.bridge.tokens().role_of("pf_" + "c" * 43) == "viewer" for n in nodes))
        finally:
            for node in nodes:
                await node.shutdown()

    run(scenario())


def test_past_the_quota_the_leader_refuses_what_may_grow_the_state(tmp_path: Path) -> None:
    async def scenario() -> None:
        # 2 MiB: each create holds its 60 KB printer and, in the idempotency table, its outcome (the same
        # again), so once the printers are deleted the state is about half the quota, clearly under it
        node = Node(options(tmp_path, "n1", bootstrap=True, max_state_bytes=2 << 20))
        await node.start()
        try:
            await until(lambda: node.bridge.raft_state() == "Leader")
            big = "x" * 60_000
            outcomes = [await node.bridge.write(CreatePrinter(f"p{n}", big, "m")) for n in range(40)]
            codes = [code(outcome) for outcome in outcomes]
            assert "quota_exceeded" in codes and codes[0] == "ok"
            refused = next(o for o in outcomes if isinstance(o, Rejected))
            assert "quota" in refused.detail
            created = [n for n, c in enumerate(codes) if c == "ok"]
            for number in created:
                assert code(await node.bridge.write(DeletePrinter(f"p{number}"))) == "ok"
            # A refusal re-measures the state with a snapshot built in a forked child: the deletes count once
            # that lands (or once a snapshot already under way has, and the next refusal measures again).
            size = node.state_machine.state_size
            deadline = time.monotonic() + 15
            while True:
                size.last_measure = float("-inf")  # no need to wait for the spacing between re-measures
                outcome = await node.bridge.write(CreatePrinter("small", "HP", "L12"))
                if code(outcome) == "ok":
                    break
                assert code(outcome) == "quota_exceeded" and time.monotonic() < deadline, outcome
                await asyncio.sleep(0.05)
            assert size.value < 2 << 20
        finally:
            await node.shutdown()

    run(scenario())


def test_printer_connections_report_as_the_node_with_access_control_on(tmp_path: Path) -> None:
    """A connection's reports are the node's own (farm/roles.NODE): with access control on they still apply,
    while no token, not even an admin's, may send one."""
    import socket

    from farm.commands import CreateFilament, CreateJob, DispatchJob, ReportPrinterState
    from farm.queries import GetPrinter

    with socket.socket() as closed:  # a port nothing listens on: the OctoPrint is unreachable
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]

    async def scenario() -> None:
        node = Node(options(tmp_path, "n1", bootstrap=True))
        await node.start()  # as a node process does: its actors run with no HTTP caller
        try:
            await until(lambda: node.bridge.raft_state() == "Leader")
            assert code(await node.bridge.write(BootstrapAcl("t1", "root", hash_secret(ADMIN)))) == "ok"
            CALLER_ROLE.set("operator")
            url = f"http://127.0.0.1:{port}"
            printer = CreatePrinter("p1", "HP", "L12", "octoprint", url, "K" * 32)
            assert code(await node.bridge.write(printer)) == "ok"
            assert code(await node.bridge.write(CreateFilament("f1", "PLA", "Black", 100, 100))) == "ok"
            job = CreateJob("j1", "p1", "f1", 10, "part", 0, "a.gcode")
            assert code(await node.bridge.write(job)) == "ok"
            CALLER_ROLE.set("admin")
            report = ReportPrinterState("p1", "error", "connected")
            assert code(await node.bridge.write(report)) == "forbidden"
            assert code(await node.bridge.write(DispatchJob("j1", 0, 0))) == "forbidden"

            # the connection finds its OctoPrint unreachable and reports it, as the node
            def connection_state() -> str | None:
                return node.state_machine.farm.query(GetPrinter("p1")).value["connection_state"]

            await until(lambda: connection_state() == "unreachable", timeout=20)
        finally:
            await node.shutdown()

    run(scenario())
