"""printfarm's command line: `node` runs one node, `cluster` runs a local cluster of node processes (or,
with a subcommand, talks to a running cluster), and the client commands of client/commands.py."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from client import commands as client_commands

HERE = Path(__file__).resolve().parent
T = TypeVar("T")


@click.group()
@client_commands.global_options
def main() -> None:
    """printfarm: a Raft-replicated 3D printer farm manager."""


client_commands.register(main)


def _parse_overrides(_ctx: Any, _param: Any, values: tuple[str, ...]) -> dict[str, str]:
    overrides = {}
    for value in values:
        node_id, sep, addr = value.partition("=")
        if not sep or not node_id or ":" not in addr:
            raise click.BadParameter(f"expected NODE=HOST:PORT, got {value!r}")
        overrides[node_id] = addr
    return overrides


@main.command()
@click.option("--node_id", "--node-id", "node_id", required=True, help="This node's id, e.g. node1.")
@click.option("--raft_addr", "--raft-addr", "raft_addr", required=True, help="HOST:PORT for peer traffic.")
@click.option("--data_dir", "--data-dir", "data_dir", default=None, help="Data directory [<node_id>_data].")
@click.option("--http_port", "--http-port", "http_port", type=click.IntRange(0, 65535), required=True)
@click.option("--http_host", "--http-host", "http_host", default="127.0.0.1", show_default=True)
@click.option("--bootstrap", is_flag=True, help="Create a new cluster with this node (no-op if it has data).")
@click.option("--join", "join_url", default=None, metavar="URL", help="Join the cluster at http://HOST:PORT.")
@click.option(
    "--tick-ms", "--tick_ms", "tick_ms", type=click.IntRange(1, 10_000), default=50, show_default=True
)
@click.option(
    "--election-ticks", "election_ticks", type=click.IntRange(2, 1000), default=10, show_default=True
)
@click.option(
    "--heartbeat-ticks", "heartbeat_ticks", type=click.IntRange(1, 1000), default=2, show_default=True
)
@click.option(
    "--snapshot-every",
    "--snapshot_every",
    "snapshot_every",
    type=click.IntRange(1, None),
    default=10_000,
    show_default=True,
    help="Snapshot the farm after this many applied entries.",
)
@click.option("--request-timeout", "request_timeout", type=click.FloatRange(0.1, 300), default=5.0)
@click.option("--peer-addr-override", "overrides", multiple=True, hidden=True, callback=_parse_overrides)
@click.option("--log-level", "log_level", default="info", show_default=True)
def node(
    node_id: str,
    raft_addr: str,
    data_dir: str | None,
    http_port: int,
    http_host: str,
    bootstrap: bool,
    join_url: str | None,
    tick_ms: int,
    election_ticks: int,
    heartbeat_ticks: int,
    snapshot_every: int,
    request_timeout: float,
    overrides: dict[str, str],
    log_level: str,
) -> None:
    """Run one node until SIGINT/SIGTERM."""
    from actors.node import NodeOptions, run_node
    from raft.storage import StorageError

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    options = NodeOptions(
        node_id=node_id,
        raft_addr=raft_addr,
        data_dir=data_dir or f"{node_id}_data",
        http_port=http_port,
        http_host=http_host,
        bootstrap=bootstrap,
        join=join_url,
        tick_ms=tick_ms,
        election_ticks=election_ticks,
        heartbeat_ticks=heartbeat_ticks,
        snapshot_every=snapshot_every,
        request_timeout=request_timeout,
        peer_addr_overrides=overrides,
    )
    try:
        code = _run(run_node(options))
    except (StorageError, OSError) as exc:
        logging.getLogger("printfarm.node").critical("%s: cannot run: %s", node_id, exc)
        sys.exit(1)
    sys.exit(code)


def _run(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


# --- cluster -------------------------------------------------------------------------------------------


@main.group(invoke_without_command=True)
@click.option("--nodes", "size", type=click.IntRange(1, 9), default=3, show_default=True)
@click.option("--data-dir", "data_dir", default="cluster_data", show_default=True)
@click.option(
    "--http-port", "http_port", type=int, default=8081, show_default=True, help="First node's port."
)
@click.option(
    "--raft-port", "raft_port", type=int, default=9001, show_default=True, help="First node's port."
)
@click.pass_context
def cluster(ctx: click.Context, size: int, data_dir: str, http_port: int, raft_port: int) -> None:
    """Run a local cluster of SIZE node processes until Ctrl-C (no subcommand), or ask a running one."""
    if ctx.invoked_subcommand is not None:
        return  # `cluster status|join|remove|transfer`: the client commands below
    base = Path(data_dir).resolve()
    base.mkdir(parents=True, exist_ok=True)
    specs = [(f"node{i + 1}", http_port + i, raft_port + i) for i in range(size)]
    seed_url = f"http://127.0.0.1:{http_port}"
    processes: dict[str, subprocess.Popen[bytes]] = {}
    stop_requested = False

    def on_signal(_signum: int, _frame: Any) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    def exits() -> list[str]:
        return [
            f"{name} exited with code {process.returncode}; see {base / name}.log"
            for name, process in processes.items()
            if process.poll() is not None
        ]

    def check() -> None:
        if stop_requested:
            raise _Interrupted
        exited = exits()
        if exited:
            raise click.ClickException(exited[0])

    try:
        for index, (node_id, port, rport) in enumerate(specs):
            url = f"http://127.0.0.1:{port}"
            data = base / f"{node_id}_data"
            fresh = not data.exists()
            argv = [
                sys.executable, str(HERE / "cli.py"), "node", f"--node_id={node_id}",
                f"--raft_addr=127.0.0.1:{rport}", f"--data_dir={data}", f"--http_port={port}",
            ]  # fmt: skip
            argv.append("--bootstrap" if index == 0 else f"--join={seed_url}")
            log_path = base / f"{node_id}.log"
            click.echo(
                f"[{index + 1}/{size}] starting {node_id}: {url} (raft 127.0.0.1:{rport}, log {log_path})"
            )
            with log_path.open("ab") as log:
                processes[node_id] = subprocess.Popen(
                    argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            click.echo(f"      {node_id} is pid {processes[node_id].pid}")
            _wait(lambda url=url: _get(url + "/healthz") is not None, 30, check)
            if index == 0 and fresh:
                _wait(lambda url=url: _get(url + "/raft/state") == "Leader", 30, check)
                click.echo(f"      {node_id} bootstrapped a new cluster and leads")
            elif index == 0:
                click.echo(f"      {node_id} restarts from its data (waiting for the others to elect)")
            else:
                _wait(lambda node_id=node_id: _is_voter(seed_url, node_id), 60, check)
                click.echo(f"      {node_id} is a voter")
        leader = _wait(lambda: _leader(specs), 30, check)
        click.echo(f"cluster of {size} ready; leader: {leader}")
        for node_id, port, _ in specs:
            click.echo(
                f"  {node_id}: http://127.0.0.1:{port}  ({_get(f'http://127.0.0.1:{port}/raft/state')})"
            )
        click.echo(f"Dashboard: {seed_url}/ (any node). Client: printfarm --url {seed_url} cluster status")
        click.echo("Ctrl-C stops every node.")
        while not stop_requested:
            for message in exits():
                click.echo(message)
                stop_requested = True
            time.sleep(0.2)
    except _Interrupted:
        pass
    finally:
        click.echo("stopping the cluster ...")
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for node_id, process in processes.items():
            try:
                code = process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
            click.echo(f"  {node_id} stopped (exit code {code})")


client_commands.register_cluster(cluster)


class _Interrupted(Exception):
    pass


def _wait(condition: Callable[[], T | None], timeout: float, check: Callable[[], None]) -> T:
    """The first truthy value of `condition`, polled until `timeout`; `check` may end the wait early."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        check()
        if time.monotonic() > deadline:
            raise click.ClickException(f"timed out after {timeout:.0f}s; see the node logs")
        time.sleep(0.1)
    return value


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.read().decode()
    except OSError:  # refused, timed out, or an HTTP error status (urllib's HTTPError is an OSError)
        return None


def _is_voter(url: str, node_id: str) -> bool:
    body = _get(url + "/raft/status")
    if body is None:
        return False
    members = json.loads(body).get("members", [])
    return any(m["node_id"] == node_id and m["role"] == "voter" for m in members)


def _leader(specs: list[tuple[str, int, int]]) -> str | None:
    for node_id, port, _ in specs:
        if _get(f"http://127.0.0.1:{port}/raft/state") == "Leader":
            return node_id
    return None


if __name__ == "__main__":
    main()
