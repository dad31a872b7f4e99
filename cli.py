"""printfarm's command line: `node` runs one node, `cluster` runs a local cluster of node processes (or,
with a subcommand, talks to a running cluster), and the client commands of client/commands.py."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from cli_acl import acl, tokens
from cli_front_door import front_door_options
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
    "--join-token", "join_token", envvar="PRINTFARM_TOKEN", default=None, show_envvar=True,
    help="An admin token for --join once the cluster has access control on (better in the environment).",
)  # fmt: skip
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
@click.option(
    "--max-event-streams",
    "max_event_streams",
    type=click.IntRange(1, 100_000),
    default=256,
    show_default=True,
    help="Event streams (SSE) served at once; one more is 503 too_many_streams.",
)
@click.option(
    "--compaction-tail",
    "compaction_tail",
    type=click.IntRange(0, None),
    default=5_000,
    show_default=True,
    help="Log entries kept before each snapshot (at most 32 MiB of them), so a briefly lagging follower"
    " catches up from the log.",
)
@click.option("--peer-addr-override", "overrides", multiple=True, hidden=True, callback=_parse_overrides)
@click.option(
    "--cluster-key",
    "--cluster_key",
    "cluster_key",
    default=None,
    metavar="FILE",
    help="The cluster's key (python cli.py keygen FILE): peer traffic is encrypted and authenticated.",
)
@click.option(
    "--insecure-peers",
    "--insecure_peers",
    "insecure_peers",
    is_flag=True,
    help="Allow a non-loopback --raft_addr without --cluster-key (anyone reaching it can disrupt it).",
)
@click.option("--log-level", "log_level", default="info", show_default=True)
@front_door_options
def node(
    node_id: str,
    raft_addr: str,
    data_dir: str | None,
    http_port: int,
    http_host: str,
    bootstrap: bool,
    join_url: str | None,
    join_token: str | None,
    tick_ms: int,
    election_ticks: int,
    heartbeat_ticks: int,
    snapshot_every: int,
    request_timeout: float,
    max_event_streams: int,
    compaction_tail: int,
    overrides: dict[str, str],
    cluster_key: str | None,
    insecure_peers: bool,
    log_level: str,
    **front_door: Any,
) -> None:
    """Run one node until SIGINT/SIGTERM."""
    from actors import peer_key
    from actors.node import NodeOptions, check_peer_security, run_node
    from raft.storage import StorageError

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    key = None
    if cluster_key is not None:
        try:
            key = peer_key.load(cluster_key)
        except peer_key.PeerKeyError as exc:
            logging.getLogger("printfarm.node").critical("%s: cannot run: --cluster-key: %s", node_id, exc)
            sys.exit(2)
        if peer_key.readable_by_others(cluster_key):
            logging.getLogger("printfarm.node").warning(
                "%s: the cluster key %s is readable by other users; chmod 600 it", node_id, cluster_key
            )
    options = NodeOptions(
        node_id=node_id,
        raft_addr=raft_addr,
        data_dir=data_dir or f"{node_id}_data",
        http_port=http_port,
        http_host=http_host,
        bootstrap=bootstrap,
        join=join_url,
        join_token=join_token,
        tick_ms=tick_ms,
        election_ticks=election_ticks,
        heartbeat_ticks=heartbeat_ticks,
        snapshot_every=snapshot_every,
        request_timeout=request_timeout,
        peer_addr_overrides=overrides,
        cluster_key=key,
        insecure_peers=insecure_peers,
        **front_door,
        max_event_streams=max_event_streams,
        compaction_tail=compaction_tail,
    )
    try:
        check_peer_security(options)
        code = _run(run_node(options))
    except peer_key.PeerKeyError as exc:
        logging.getLogger("printfarm.node").critical("%s: cannot run: %s", node_id, exc)
        sys.exit(2)
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


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def keygen(file: str, force: bool) -> None:
    """Write a new cluster key to FILE (mode 0600): give every node the same file with --cluster-key."""
    from actors import peer_key

    try:
        peer_key.write(file, peer_key.generate(), force=force)
    except peer_key.PeerKeyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote a new cluster key to {file}; copy it to every node and pass --cluster-key {file}")


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
@click.option("--cluster-key", "cluster_key", default=None, metavar="FILE", help="Passed to every node.")
@click.pass_context
def cluster(
    ctx: click.Context, size: int, data_dir: str, http_port: int, raft_port: int, cluster_key: str | None
) -> None:
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
            if cluster_key:
                argv.append(f"--cluster-key={Path(cluster_key).resolve()}")
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
    token = os.environ.get("PRINTFARM_TOKEN")  # a bootstrapped cluster answers only with a token
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=2) as reply:
            return reply.read().decode()
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            raise click.ClickException(
                "this cluster has access control on: set PRINTFARM_TOKEN to a token (a viewer's will do)"
            ) from None
        return None
    except OSError:  # refused, timed out
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


main.add_command(acl)
main.add_command(tokens)

if __name__ == "__main__":
    main()
