"""The HTTP layer alone: server CPU per request of the Falcon app under uvicorn, without any cluster.

    python bench/http_layer.py [--rounds 4 --seconds 3 --clients 32]

Runs two servers of the same app, each in its own process with a bridge that answers every write at once:
one with uvicorn's own httptools protocol, one with actors/http_protocol.py's coalescing one (what nodes
run). Alternating phases drive `POST /api/v1/printers` at each with bench/loadgen.py; each line gives the
rate and the server's CPU per request (from /proc), the end the medians. Numbers, never assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.loadgen import run_load  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
PROTOCOLS = ("uvicorn", "coalescing")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--serve", nargs=2, metavar=("PROTOCOL", "PORT"), help=argparse.SUPPRESS)
    return parser.parse_args()


def serve(protocol: str, port: int) -> None:
    """The server process: the app over a bridge that answers at once."""
    import uvicorn

    from farm.commands import Command
    from farm.results import Ok, Outcome
    from httpapi.app import create_app
    from tests.httpapi.fake_bridge import FakeBridge

    class AnsweringBridge(FakeBridge):
        async def write(self, command: Command, idempotency_key: str | None = None) -> Outcome:
            return Ok({"id": command.id, "company": "Prusa", "model": "MK4"})  # type: ignore[attr-defined]

    options: dict = {}
    if protocol == "coalescing":
        from actors.http_protocol import CoalescingHttpToolsProtocol

        options["http"] = CoalescingHttpToolsProtocol
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    config = uvicorn.Config(create_app(AnsweringBridge()), lifespan="off", log_level="warning",
                            access_log=False, proxy_headers=False, server_header=False, **options)
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def writes(client: int, sequence: int) -> tuple[str, str, bytes]:
    body = {"id": f"p-{client}-{sequence}", "company": "Prusa", "model": "MK4"}
    return "POST", "/api/v1/printers", json.dumps(body).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    args = parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    ports = {protocol: free_port() for protocol in PROTOCOLS}
    servers = {
        protocol: subprocess.Popen([sys.executable, __file__, "--serve", protocol, str(port)], cwd=REPO)
        for protocol, port in ports.items()
    }
    per_request: dict[str, list[float]] = {protocol: [] for protocol in PROTOCOLS}
    try:
        time.sleep(2)  # both servers listening
        for round_number in range(args.rounds):
            order = PROTOCOLS if round_number % 2 == 0 else PROTOCOLS[::-1]
            for protocol in order:
                pid = servers[protocol].pid
                before = cpu_seconds(pid)
                result = asyncio.run(run_load([("127.0.0.1", ports[protocol])], writes, args.clients,
                                              args.seconds))
                cost = 1e6 * (cpu_seconds(pid) - before) / max(result.ok, 1)
                per_request[protocol].append(cost)
                print(f"{protocol:<11} {result.rate():8.0f} req/s  {cost:6.1f} us of server CPU per request",
                      flush=True)
        for protocol in PROTOCOLS:
            print(f"{protocol:<11} median {statistics.median(per_request[protocol]):6.1f} us per request")
    finally:
        for server in servers.values():
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
