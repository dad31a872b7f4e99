"""The farm snapshot's size per job and its build / restore time, this tree against an older commit's farm/.

Both farms apply the same log (bench/farm_apply.py's workload: create, start, finish or pause and cancel,
restocks; about a third of the commands are jobs), each in a child process of its own, alternating, in one
run on one machine. With --progress this tree's farm also gets one usage report per job (a third ledger entry
per job), which the older farm cannot apply. Times are process CPU (medians), as wall time on a shared
machine also counts other processes' turns.

Usage: python bench/farm_snapshot.py [--base COMMIT] [--jobs N] [--repeat R] [--rounds K] [--progress]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Runs in the child, against whichever farm/ is first on sys.path. Old and new farms share these commands.
CHILD = r"""
import json, statistics, sys, time
from farm.codec import encode_command, encode_proposal
from farm.commands import CreateFilament, CreateJob, CreatePrinter, SetJobStatus, UpdateFilament
from farm.state import FarmState

jobs, repeat, progress = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
if progress:
    from farm.commands import ReportProgress
try:  # this tree's farm: a bed must be cleared before a printer's next job; the older farm has no beds
    from farm.commands import ClearBed
except ImportError:
    ClearBed = None
printers = max(1, jobs // 50)
commands = [CreatePrinter(f"printer-{n}", "Prusa", "MK4") for n in range(printers)]
commands += [CreateFilament(f"spool-{n}", "PLA", "black", 9_000_000, 9_000_000) for n in range(printers)]
for n in range(jobs):
    printer, job = f"printer-{n % printers}", f"job-{n:08d}"
    commands.append(CreateJob(job, printer, f"spool-{n % printers}", 25, "benchmark part"))
    commands.append(SetJobStatus(job, "Running"))
    if progress:
        commands.append(ReportProgress(job, 50, 10))
    if n % 10 == 0:
        commands.append(SetJobStatus(job, "Paused"))
        commands.append(SetJobStatus(job, "Cancelled", used_grams=5))
    else:
        commands.append(SetJobStatus(job, "Done"))
        if ClearBed is not None:
            commands.append(ClearBed(printer))
    if n % 100 == 0:
        commands.append(UpdateFilament(f"spool-{n % printers}", color="white"))
state = FarmState()
started = time.process_time()
refused = 0
for index, command in enumerate(commands, start=1):
    data = encode_proposal(encode_command(command), 1_700_000_000_000 + index, None)
    outcome = state.apply(index, data).outcome
    refused += type(outcome).__name__ == "Rejected"
apply_s = time.process_time() - started
def timed(call):
    times = []
    for _ in range(repeat):
        started = time.process_time()
        result = call()
        times.append(time.process_time() - started)
    return result, statistics.median(times)
snapshot, snapshot_s = timed(state.snapshot)
restored, restore_s = timed(lambda: FarmState.restore(snapshot))
assert restored.snapshot() == snapshot
print(json.dumps({"commands": len(commands), "refused": refused, "apply_s": apply_s, "bytes": len(snapshot),
                  "snapshot_s": snapshot_s, "restore_s": restore_s}))
"""


def run_child(tree: Path, jobs: int, repeat: int, progress: bool) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(jobs), str(repeat), "1" if progress else "0"],
        env=env, cwd=tree, capture_output=True, text=True, check=True,
    )
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="413eac9", help="the commit whose farm/ is 'before'")
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="snapshot()/restore() runs per child (median)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating before/after children")
    parser.add_argument("--progress", action="store_true", help="also this tree with a usage report per job")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp)
        archive = subprocess.run(
            ["git", "archive", args.base, "farm"], cwd=ROOT, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive.stdout, check=True)
        variants = [("before", before, False), ("after", ROOT, False)]
        if args.progress:
            variants.append(("after+progress", ROOT, True))
        results: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in variants}
        for _ in range(args.rounds):
            for name, tree, progress in variants:
                results[name].append(run_child(tree, args.jobs, args.repeat, progress))
    base = {key: statistics.median(r[key] for r in results["before"]) for key in results["before"][0]}
    print(f"{args.jobs} jobs, medians of {args.rounds} children x {args.repeat} runs (process CPU)")
    for name, runs in results.items():
        median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        print(
            f"{name:15} {median['commands']:>8.0f} commands ({median['refused']:.0f} refused), "
            f"apply {median['apply_s'] * 1e6 / median['commands']:.1f} us/command; snapshot "
            f"{median['bytes'] / 1e6:.2f} MB = {median['bytes'] / args.jobs:.0f} B/job "
            f"(x{median['bytes'] / base['bytes']:.2f}); snapshot() {median['snapshot_s'] * 1e3:.0f} ms "
            f"(x{median['snapshot_s'] / base['snapshot_s']:.2f}), "
            f"restore() {median['restore_s'] * 1e3:.0f} ms "
            f"(x{median['restore_s'] / base['restore_s']:.2f})"
        )


if __name__ == "__main__":
    main()
