"""A real crash: kill -9 a process that appends, then check every index it acknowledged is still there."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from raft.types import Entry
from tests.storage.helpers import reopen

REPO = Path(__file__).resolve().parents[2]


def run_and_kill(data_dir: Path, acks_before_kill: int) -> set[int]:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.storage.crash_child", str(data_dir)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acknowledged: set[int] = set()
    try:
        assert child.stdout is not None
        for line in child.stdout:
            acknowledged.add(int(line))
            if len(acknowledged) >= acks_before_kill:
                break
        else:
            pytest.fail(f"the child stopped before the kill: {child.stderr.read() if child.stderr else ''}")
        os.kill(child.pid, signal.SIGKILL)
        # lines already written to the pipe were acknowledged too: read them after the kill
        remaining, _ = child.communicate(timeout=30)
        acknowledged.update(int(line) for line in remaining.split())
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    return acknowledged


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_acknowledged_index_survives_kill_9(tmp_path: Path, seed: int) -> None:
    acks_before_kill = random.Random(seed).randint(20, 600)
    acknowledged = run_and_kill(tmp_path, acks_before_kill)
    recovered = reopen(tmp_path, segment_bytes=4096)
    base = recovered.snapshot.index if recovered.snapshot else 0
    if recovered.snapshot:
        assert recovered.snapshot.data == b"upto-%d" % base
    present = {entry.index: entry for entry in recovered.entries}
    assert [entry.index for entry in recovered.entries] == list(range(base + 1, base + 1 + len(present)))
    missing = sorted(
        i for i in acknowledged if i > base and present.get(i) != Entry(1, i, data=b"entry-%d" % i)
    )
    assert not missing, f"acknowledged but lost after kill -9 (seed {seed}): {missing[:10]}"
    # each save carries commit=index and indexes are saved in order: the newest durable one is at least this
    assert recovered.hard_state.commit >= max(acknowledged)
