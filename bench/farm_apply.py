"""How many log entries per second FarmState.apply() takes, for a realistic mix of commands, and what a
snapshot of the resulting state costs (it is taken on the node's event loop).

Proposals are encoded up front (the leader does that once); apply runs on every node for every write. Every
write carries a key, as the node's bridge gives it one: an internal key ("~" and 22 url-safe characters,
like the bridge's), or with --client-keys a key as a client would send it.
Usage: python bench/farm_apply.py [--commands N] [--client-keys] [--repeat R]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import statistics
import time
from collections.abc import Callable
from typing import Any

from farm.codec import encode_command, encode_proposal
from farm.commands import Command, CreateFilament, CreateJob, CreatePrinter, SetJobStatus, UpdateFilament
from farm.state import FarmState

AT_MS = 1_700_000_000_000


def workload(command_count: int) -> list[Command]:
    """Per job: create, start, finish (or pause/cancel); plus printers, spools and restocks along the way."""
    job_count = command_count // 3 + 1
    printers = max(1, job_count // 50)
    commands: list[Command] = [CreatePrinter(f"printer-{n}", "Prusa", "MK4") for n in range(printers)]
    commands += [CreateFilament(f"spool-{n}", "PLA", "black", 9_000_000, 9_000_000) for n in range(printers)]
    for n in range(job_count):
        printer, job = f"printer-{n % printers}", f"job-{n:08d}"
        commands.append(CreateJob(job, printer, f"spool-{n % printers}", 25, "benchmark part"))
        commands.append(SetJobStatus(job, "Running"))
        if n % 10 == 0:
            commands.append(SetJobStatus(job, "Paused"))
            commands.append(SetJobStatus(job, "Cancelled", used_grams=5))
        else:
            commands.append(SetJobStatus(job, "Done"))
        if n % 100 == 0:
            commands.append(UpdateFilament(f"spool-{n % printers}", color="white"))
    return commands[:command_count]


def internal_key(index: int) -> str:
    """Deterministic stand-in for the bridge's "~" + 22 url-safe random characters."""
    digest = hashlib.blake2b(index.to_bytes(8, "big"), digest_size=16).digest()
    return "~" + base64.urlsafe_b64encode(digest).decode()[:22]


def client_key(index: int) -> str:
    return f"client-{index:012d}-retry-key"


def timed(call: Callable[[], Any], repeat: int) -> tuple[Any, str]:
    """The last result, and the median wall and CPU time of `repeat` calls as text."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = call()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    wall_ms, cpu_ms = statistics.median(walls) * 1e3, statistics.median(cpus) * 1e3
    return result, f"{wall_ms:.1f} ms wall / {cpu_ms:.1f} ms CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", type=int, default=150_000)
    parser.add_argument("--client-keys", action="store_true", help="client keys instead of internal ones")
    parser.add_argument("--repeat", type=int, default=5, help="snapshot()/restore() runs (median reported)")
    args = parser.parse_args()
    commands = workload(args.commands)
    make_key = client_key if args.client_keys else internal_key
    proposals = [
        encode_proposal(encode_command(command), AT_MS + index, make_key(index))
        for index, command in enumerate(commands, start=1)
    ]
    state = FarmState()
    # CPU time of this process: on a shared machine wall time also counts other processes' turns
    started = time.process_time()
    refused = 0
    for index, data in enumerate(proposals, start=1):
        refused += type(state.apply(index, data).outcome).__name__ == "Rejected"
    elapsed = time.process_time() - started
    snapshot, snap_took = timed(state.snapshot, args.repeat)
    restored, restore_took = timed(lambda: FarmState.restore(snapshot), args.repeat)
    assert restored.snapshot() == snapshot
    kind = "a client" if args.client_keys else "an internal"
    print(
        f"farm apply: {len(proposals) / elapsed:,.0f} applies/s of CPU ({len(proposals)} entries, "
        f"each with {kind} idempotency key, {refused} refused, {elapsed * 1e6 / len(proposals):.1f} us each)"
    )
    print(
        f"snapshot: {len(snapshot) / 1e6:.2f} MB; snapshot() {snap_took}, restore() {restore_took} "
        f"(medians of {args.repeat})"
    )


if __name__ == "__main__":
    main()
