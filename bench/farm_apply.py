"""How many log entries per second FarmState.apply() takes, for a realistic mix of commands.

Proposals are encoded up front (the leader does that once); apply runs on every node for every write.
Usage: python bench/farm_apply.py [--jobs N]
"""

from __future__ import annotations

import argparse
import time

from farm.codec import encode_command, encode_proposal
from farm.commands import Command, CreateFilament, CreateJob, CreatePrinter, SetJobStatus, UpdateFilament
from farm.state import FarmState

AT_MS = 1_700_000_000_000


def workload(job_count: int) -> list[Command]:
    """Per job: create, start, finish (or pause/cancel); plus printers, spools and restocks along the way."""
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
    return commands


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=50_000)
    args = parser.parse_args()
    commands = workload(args.jobs)
    proposals = [
        encode_proposal(encode_command(command), AT_MS + index, f"node1-{index}")
        for index, command in enumerate(commands, start=1)
    ]
    state = FarmState()
    # CPU time of this process: on a shared machine wall time also counts other processes' turns
    started = time.process_time()
    refused = 0
    for index, data in enumerate(proposals, start=1):
        refused += type(state.apply(index, data).outcome).__name__ == "Rejected"
    elapsed = time.process_time() - started
    snap_started = time.perf_counter()
    snapshot = state.snapshot()
    snap_elapsed = time.perf_counter() - snap_started
    restore_started = time.perf_counter()
    FarmState.restore(snapshot)
    restore_elapsed = time.perf_counter() - restore_started
    print(
        f"farm apply: {len(proposals) / elapsed:,.0f} applies/s of CPU ({len(proposals)} entries, "
        f"each with an idempotency key, {refused} refused, {elapsed * 1e6 / len(proposals):.1f} us each); "
        f"snapshot {len(snapshot) / 1e6:.1f} MB in {snap_elapsed * 1e3:.0f} ms, "
        f"restore {restore_elapsed * 1e3:.0f} ms"
    )


if __name__ == "__main__":
    main()
