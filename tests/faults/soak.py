"""The long fault run: random scenarios with random intensity until the time is up.

    python -m tests.faults.soak --duration 600 --seed 7
    python -m tests.faults.soak --scenario one_way --seed 123 --rounds 2 --retry no --runs 1   # one rerun

Each run gets its own seed drawn from --seed, prints one line, and on failure the full report (seed, nemesis
schedule, findings, smallest failing slice, log tails). Exit status 1 if any run failed.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from tests.faults.nemesis import mount_works
from tests.faults.runner import SCENARIOS, ScenarioResult, run_scenario, settings_for


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds to keep starting runs")
    parser.add_argument("--seed", type=int, default=None, help="master seed (default: random, printed)")
    parser.add_argument(
        "--scenario", action="append", choices=sorted(SCENARIOS), help="only these (repeatable)"
    )
    parser.add_argument("--rounds", type=int, default=None, help="fault rounds per run (default: random 1-4)")
    parser.add_argument("--runs", type=int, default=None, help="stop after this many runs")
    parser.add_argument("--retry", choices=("yes", "no"), default=None,
                        help="clients resend failed writes (default: chosen by each run's seed)")
    parser.add_argument("--snapshot-every", type=int, default=None,
                        help="the nodes' --snapshot-every, 0 for their default (default: chosen by the seed)")
    parser.add_argument("--cluster-key", action="store_true",
                        help="run every cluster with a cluster key (CurveZMQ between nodes)")
    parser.add_argument("--keep-going", action="store_true", help="continue after a failing run")
    parser.add_argument("--dir", type=Path, default=None, help="where clusters live (default: a temp dir)")
    args = parser.parse_args(argv)

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    rng = random.Random(seed)
    names = args.scenario or sorted(SCENARIOS)
    base = args.dir or Path(tempfile.mkdtemp(prefix="printfarm-soak-"))
    disk_reason = mount_works(base / "probe") if any(SCENARIOS[n].disk for n in names) else None
    if disk_reason:
        print(f"skipping disk scenarios: {disk_reason}")
        names = [n for n in names if not SCENARIOS[n].disk] or names
    print(f"soak: seed={seed} duration={args.duration:.0f}s scenarios={','.join(names)} dir={base}",
          flush=True)

    deadline = time.monotonic() + args.duration
    results: list[ScenarioResult] = []
    runs = 0
    while time.monotonic() < deadline and (args.runs is None or runs < args.runs):
        runs += 1
        name = rng.choice(names)
        run_seed = args.seed if args.runs == 1 and args.seed is not None else rng.randrange(2**31)
        rounds = args.rounds or rng.randint(1, 4)
        settings = settings_for(run_seed)
        if args.retry:
            settings = replace(settings, retry=args.retry == "yes")
        if args.snapshot_every is not None:
            settings = replace(settings, snapshot_every=args.snapshot_every or None)
        result = run_scenario(SCENARIOS[name], run_seed, base, rounds=rounds, settings=settings,
                              cluster_key=args.cluster_key)
        results.append(result)
        print(result.row(), flush=True)
        if not result.ok:
            print(result.report(), flush=True)
            if not args.keep_going:
                break

    failed = [r for r in results if not r.ok]
    faults = sum(r.faults for r in results)
    ops = sum(r.operations for r in results)
    print(f"soak: {len(results)} runs, {faults} faults, {ops} operations checked, {len(failed)} failed "
          f"(master seed {seed})")
    for r in failed:
        print(f"  FAILED {r.scenario} seed={r.seed} rounds={r.rounds}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
