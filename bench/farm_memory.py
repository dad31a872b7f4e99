"""Memory of the farm state alone, per object at rest, measured in-process with tracemalloc.

The farm of bench/scale.py (tests/support/preseed.py: a third each of printers, spools and jobs), built by
applying its commands and then restored from its own snapshot (what a restarted node holds). Prints the
bytes per object of each, and with --top the source lines holding the most.

    .venv/bin/python bench/farm_memory.py [--objects 60000] [--top 12]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from farm.state import FarmState
from tests.support.preseed import build_state


def held(make: object) -> tuple[object, int, tracemalloc.Snapshot]:
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.take_snapshot()
    value = make()  # type: ignore[operator]
    gc.collect()
    after = tracemalloc.take_snapshot()
    size = sum(stat.size_diff for stat in after.compare_to(base, "filename"))
    tracemalloc.stop()
    return value, size, after.compare_to(base, "lineno")  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--objects", type=int, default=60_000)
    parser.add_argument("--top", type=int, default=0)
    args = parser.parse_args()
    built, built_bytes, built_top = held(lambda: build_state(args.objects)[0])
    data = built.snapshot()  # type: ignore[attr-defined]
    objects = 3 * (args.objects // 3)
    del built
    _restored, restored_bytes, restored_top = held(lambda: FarmState.restore(data))
    measured = (("applied", built_bytes, built_top), ("restored", restored_bytes, restored_top))
    for what, size, top in measured:
        print(f"{objects:,} objects {what}: {size / 2**20:.1f} MiB, {size / objects:.0f} B per object")
        for stat in top[: args.top]:  # type: ignore[index]
            print(f"    {stat.size_diff / objects:7.1f} B/object  {stat.traceback}")
    print(f"snapshot: {len(data) / objects:.0f} B per object")


if __name__ == "__main__":
    main()
