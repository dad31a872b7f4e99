from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import msgpack
import pytest

from farm.codec import encode_command, encode_proposal
from farm.commands import (
    Command,
    CreateFilament,
    CreateJob,
    CreatePrinter,
    DeleteFilament,
    DeletePrinter,
    SetJobStatus,
    UpdateFilament,
)
from farm.lifecycle import STATUSES
from farm.queries import ListFilaments, ListJobs, ListPrinters
from farm.results import Applied, Ok, Rejected
from farm.snapshot import SNAPSHOT_VERSION, SnapshotError
from farm.state import FarmState
from tests.farm.harness import T0_MS, Farm


def random_proposals(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    printers = [f"p{n}" for n in range(3)]
    spools = [f"f{n}" for n in range(3)]
    jobs = [f"j{n}" for n in range(12)]
    proposals = []
    for step in range(count):
        roll = rng.random()
        command: Command
        if roll < 0.1:
            command = CreatePrinter(rng.choice(printers), "HP", "L12")
        elif roll < 0.2:
            command = CreateFilament(rng.choice(spools), "PLA", "Red", 200, rng.randint(0, 200))
        elif roll < 0.25:
            command = UpdateFilament(rng.choice(spools), remaining_weight_in_grams=rng.randint(0, 250))
        elif roll < 0.3:
            command = rng.choice([DeletePrinter, DeleteFilament])(rng.choice(printers + spools))
        elif roll < 0.55:
            command = CreateJob(
                rng.choice(jobs), rng.choice(printers), rng.choice(spools), rng.randint(0, 80)
            )
        else:
            command = SetJobStatus(rng.choice(jobs), rng.choice(STATUSES), rng.choice([None, None, 0, 5]))
        key = f"k{rng.randint(0, 30)}" if rng.random() < 0.3 else None
        proposals.append(encode_proposal(encode_command(command), T0_MS + step * 7, key))
    return proposals


def run(proposals: list[bytes]) -> tuple[FarmState, list[Applied]]:
    state = FarmState()
    return state, [state.apply(index, data) for index, data in enumerate(proposals, start=1)]


@pytest.mark.parametrize("seed", range(5))
def test_the_same_log_gives_the_same_state_and_outcomes(seed: int) -> None:
    proposals = random_proposals(seed, 400)
    state_a, applied_a = run(proposals)
    state_b, applied_b = run(proposals)
    assert state_a.snapshot() == state_b.snapshot()
    assert applied_a == applied_b
    assert any(isinstance(a.outcome, Ok) for a in applied_a)
    assert any(isinstance(a.outcome, Rejected) for a in applied_a)


@pytest.mark.parametrize("seed", range(5))
def test_a_restored_state_continues_exactly_like_the_original(seed: int) -> None:
    proposals = random_proposals(seed, 400)
    whole, applied_whole = run(proposals)
    first_half = FarmState()
    for index, data in enumerate(proposals[:200], start=1):
        first_half.apply(index, data)
    restored = FarmState.restore(first_half.snapshot())
    assert restored.snapshot() == first_half.snapshot()
    rest = [restored.apply(index, data) for index, data in enumerate(proposals[200:], start=201)]
    assert rest == applied_whole[200:]
    assert restored.snapshot() == whole.snapshot()
    for query in (ListPrinters(), ListFilaments(), ListJobs()):
        assert restored.query(query) == whole.query(query)


def test_empty_snapshot_is_an_empty_farm() -> None:
    state = FarmState.restore(b"")
    assert state.snapshot() == FarmState().snapshot()
    assert state.query(ListJobs()).value.total == 0


def test_restore_rebuilds_reservations_and_busy_printers() -> None:
    farm = Farm().seed(grams=100)
    farm.queue("j1", grams=30)
    farm.queue("j2", grams=20)
    farm.ok(SetJobStatus("j1", "Running"))
    restored = Farm(FarmState.restore(farm.state.snapshot()))
    assert restored.filament("f1")["reserved_weight_in_grams"] == 50
    restored.refused(SetJobStatus("j2", "Running"), "printer_busy")
    restored.refused(DeletePrinter("printer1"), "in_use")
    restored.refused(CreateJob("j3", "printer1", "f1", 51), "insufficient_filament")


def forged(printers=(), filaments=(), jobs=(), keys=b"", internal_keys=b"") -> bytes:
    return msgpack.packb(
        [SNAPSHOT_VERSION, list(printers), list(filaments), list(jobs), keys, internal_keys],
        use_bin_type=True,
    )


def key_record(key: str, index: int = 1) -> bytes:
    return msgpack.packb([key, index, b"\x00" * 8, [0, None]], use_bin_type=True)


QUEUED_JOB = ["j1", "p1", "f1", 60, "Queued", "", "2023-11-14T22:13:20.000Z", None, None, None]


@pytest.mark.parametrize(
    "data",
    [
        b"\xc1",
        msgpack.packb([SNAPSHOT_VERSION + 1, [], [], [], b"", b""], use_bin_type=True),
        msgpack.packb([1, [], [], [], msgpack.packb(["k", 1, [0, None]])], use_bin_type=True),  # version 1
        msgpack.packb([2, [], [], [], key_record("k")], use_bin_type=True),  # version 2: one table
        msgpack.packb([SNAPSHOT_VERSION, [], [], [], b""], use_bin_type=True),  # without internal keys
        forged(keys=key_record("~k")),  # an internal key among the client keys
        forged(internal_keys=key_record("k")),  # a client key among the internal ones
        forged(internal_keys=[]),
        msgpack.packb({"printers": []}),
        forged(printers=[["p1", "HP"]]),
        forged(keys=[["k", 1]]),
        forged(keys=b"\x94\xa1k"),  # a truncated idempotency record
        forged(keys=msgpack.packb(["k", 1, [0, None]])),  # a record without its fingerprint
        forged(jobs=[QUEUED_JOB]),  # the job's spool is missing
        forged(
            printers=[["p1", "HP", "L"]], filaments=[["f1", "P", "R", 100, 50]], jobs=[QUEUED_JOB]
        ),  # 60 > 50
        forged(printers=[["p1", "HP", "L"]], filaments=[["f1", "P", "R", 100, 101]]),
        forged(filaments=[["f1", "P", "R", "100", 10]]),
        forged(
            printers=[["p1", "HP", "L"]],
            filaments=[["f1", "P", "R", 100, 100]],
            jobs=[[*QUEUED_JOB[:4], "Sleeping", *QUEUED_JOB[5:]]],
        ),
        forged(
            printers=[["p1", "HP", "L"]],
            filaments=[["f1", "P", "R", 100, 100]],
            jobs=[
                [*QUEUED_JOB[:3], 1, "Running", *QUEUED_JOB[5:]],
                ["j2", *QUEUED_JOB[1:3], 1, "Paused", *QUEUED_JOB[5:]],
            ],
        ),
    ],
)
def test_restore_refuses_snapshots_that_are_not_a_farm(data: bytes) -> None:
    with pytest.raises(SnapshotError):
        FarmState.restore(data)


@pytest.mark.parametrize(
    "data",
    [
        b"\xc1",
        b"\x93\x01",
        msgpack.packb([1, T0_MS, None, b"\xc1"], use_bin_type=True),
        encode_command(CreatePrinter("p1", "HP", "L12")),  # a command without its proposal wrapper
    ],
)
def test_apply_turns_malformed_entries_into_a_refusal_that_changes_nothing(data: bytes) -> None:
    farm = Farm().seed()
    before = farm.state.snapshot()
    applied = farm.state.apply(99, data)
    assert isinstance(applied.outcome, Rejected) and applied.outcome.code == "malformed_command"
    assert "log entry 99" in applied.outcome.detail and applied.events == ()
    assert farm.state.snapshot() == before


def test_an_empty_entry_is_the_leaders_no_op() -> None:
    farm = Farm().seed()
    before = farm.state.snapshot()
    assert farm.state.apply(3, b"") == Applied(Ok(None))
    assert farm.state.snapshot() == before


def test_the_same_log_gives_the_same_bytes_in_processes_with_different_hash_seeds() -> None:
    """Every node is its own process with its own string-hash seed; nothing may depend on set order."""
    script = (
        "import hashlib, sys\n"
        "from tests.farm.test_snapshot_and_determinism import random_proposals, run\n"
        "state, applied = run(random_proposals(7, 600))\n"
        "digest = hashlib.sha256(state.snapshot() + repr(applied).encode())\n"
        "sys.stdout.write(digest.hexdigest())\n"
    )
    root = Path(__file__).resolve().parents[2]
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1 and len(next(iter(digests))) == 64
